// SQS message move tasks reduced to what a dead-letter redrive needs: start one from a DLQ back to
// its queue, and list the DLQ's tasks to follow it. An endpoint that does not implement these
// actions (an SQS emulator) is told apart from a failure that may pass: it throws
// MoveTasksUnsupported, which retrying cannot help.
import {
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { AwsError, classify, type CallContext } from './errors.ts';

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

/** One move task of a source queue, as ListMessageMoveTasks reports it. */
export interface MoveTask {
  /** Only while the task runs. */
  handle?: string | undefined;
  status: MoveTaskStatus;
  sourceArn: string;
  destinationArn?: string | undefined;
  maxPerSecond?: number | undefined;
  moved: number;
  toMove?: number | undefined;
  failureReason?: string | undefined;
  /** Epoch milliseconds. */
  startedAt?: number | undefined;
}

export interface MoveRequest {
  sourceArn: string;
  destinationArn: string;
  maxPerSecond?: number | undefined;
}

export interface MessageMoveGateway {
  /** StartMessageMoveTask; returns the task handle. */
  startMove(request: MoveRequest): Promise<string>;
  /** ListMessageMoveTasks of a source queue: its recent tasks (SQS keeps up to 10), newest first. */
  listMoves(sourceArn: string): Promise<MoveTask[]>;
}

/** The endpoint does not implement message move tasks at all. */
export class MoveTasksUnsupported extends Error {
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    super(
      `the SQS endpoint does not implement ${operation} (message move tasks), so it cannot move dead letters back; AWS SQS does`,
      { cause },
    );
    this.name = 'MoveTasksUnsupported';
    this.operation = operation;
  }
}

const UNSUPPORTED_CODES = new Set([
  'UnsupportedOperation',
  'AWS.SimpleQueueService.UnsupportedOperation',
  'InvalidAction',
  'NotImplemented',
  'UnknownOperationException',
  'UnknownOperation',
]);

/**
 * Whether a failure says the endpoint lacks the action: a code saying so, HTTP 501, or an HTTP 500
 * whose body is not an AWS error at all (the SDK could not parse it) — what an emulator answers for
 * an action it does not know. AWS's own 500s carry a parsable error and stay retryable.
 */
export function isUnsupportedAction(error: unknown): boolean {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    Code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const codes = [shape.name, shape.Code].filter((c): c is string => typeof c === 'string');
  if (codes.some((c) => UNSUPPORTED_CODES.has(c))) return true;
  const status = shape.$metadata?.httpStatusCode;
  if (status === 501) return true;
  const message = typeof shape.message === 'string' ? shape.message : '';
  return status === 500 && (shape.name === 'SyntaxError' || /Deserialization error/i.test(message));
}

const MOVE_STATUSES: ReadonlySet<string> = new Set([
  'RUNNING',
  'COMPLETED',
  'CANCELLING',
  'CANCELLED',
  'FAILED',
]);

export class SqsMessageMoveGateway implements MessageMoveGateway {
  private readonly client: Pick<SQSClient, 'send'>;

  constructor(client: Pick<SQSClient, 'send'>) {
    this.client = client;
  }

  async startMove(request: MoveRequest): Promise<string> {
    const { TaskHandle } = await this.call('StartMessageMoveTask', request.sourceArn, () =>
      this.client.send(
        new StartMessageMoveTaskCommand({
          SourceArn: request.sourceArn,
          DestinationArn: request.destinationArn,
          ...(request.maxPerSecond !== undefined
            ? { MaxNumberOfMessagesPerSecond: request.maxPerSecond }
            : {}),
        }),
      ),
    );
    if (!TaskHandle)
      throw new Error(`StartMessageMoveTask from ${request.sourceArn} returned no task handle`);
    return TaskHandle;
  }

  async listMoves(sourceArn: string): Promise<MoveTask[]> {
    const { Results = [] } = await this.call('ListMessageMoveTasks', sourceArn, () =>
      this.client.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 })),
    );
    return Results.map((r) => ({
      handle: r.TaskHandle,
      status: (MOVE_STATUSES.has(r.Status ?? '') ? r.Status : 'FAILED') as MoveTaskStatus,
      sourceArn: r.SourceArn ?? sourceArn,
      destinationArn: r.DestinationArn,
      maxPerSecond: r.MaxNumberOfMessagesPerSecond,
      moved: r.ApproximateNumberOfMessagesMoved ?? 0,
      toMove: r.ApproximateNumberOfMessagesToMove,
      failureReason: r.FailureReason,
      startedAt: r.StartedTimestamp,
    })).sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
  }

  private async call<T>(operation: string, resource: string, send: () => Promise<T>): Promise<T> {
    const context: CallContext = { service: 'sqs', operation, resource };
    try {
      return await send();
    } catch (error) {
      if (isUnsupportedAction(error)) throw new MoveTasksUnsupported(operation, error);
      throw new AwsError(classify(error, context), context, error);
    }
  }
}
