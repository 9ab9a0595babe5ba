import { describe, expect, it } from 'vitest';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { AwsError } from './errors.ts';
import { isUnsupportedAction, MoveTasksUnsupported, SqsMessageMoveGateway } from './message-moves.ts';
import { scriptedClient } from './scripted-client.ts';

const DLQ = 'arn:aws:sqs:us-east-1:123456789012:q_dlq';
const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:q';
const awsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('SqsMessageMoveGateway', () => {
  it('starts a task from the DLQ to the queue at the rate asked, and returns its handle', async () => {
    const { client, sent } = scriptedClient<SQSClient>({
      StartMessageMoveTask: () => ({ TaskHandle: 'h1' }),
    });
    const gateway = new SqsMessageMoveGateway(client);
    expect(await gateway.startMove({ sourceArn: DLQ, destinationArn: QUEUE, maxPerSecond: 25 })).toBe('h1');
    expect(sent).toEqual([
      {
        command: 'StartMessageMoveTask',
        input: { SourceArn: DLQ, DestinationArn: QUEUE, MaxNumberOfMessagesPerSecond: 25 },
      },
    ]);
    await gateway.startMove({ sourceArn: DLQ, destinationArn: QUEUE });
    expect(sent[1]?.input).not.toHaveProperty('MaxNumberOfMessagesPerSecond');
  });

  it('lists the tasks of the DLQ newest first, with their progress', async () => {
    const { client, sent } = scriptedClient<SQSClient>({
      ListMessageMoveTasks: () => ({
        Results: [
          {
            Status: 'COMPLETED',
            SourceArn: DLQ,
            ApproximateNumberOfMessagesMoved: 5,
            StartedTimestamp: 1000,
          },
          {
            TaskHandle: 'h2',
            Status: 'RUNNING',
            SourceArn: DLQ,
            ApproximateNumberOfMessagesMoved: 1,
            ApproximateNumberOfMessagesToMove: 9,
            StartedTimestamp: 2000,
          },
        ],
      }),
    });
    const tasks = await new SqsMessageMoveGateway(client).listMoves(DLQ);
    expect(sent[0]?.input).toEqual({ SourceArn: DLQ, MaxResults: 10 });
    expect(tasks).toEqual([
      expect.objectContaining({ handle: 'h2', status: 'RUNNING', moved: 1, toMove: 9, startedAt: 2000 }),
      expect.objectContaining({ status: 'COMPLETED', moved: 5, startedAt: 1000 }),
    ]);
  });

  it('tells an endpoint without move tasks from a failure that may pass', async () => {
    const moto = Object.assign(
      new SyntaxError(
        `Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: ...`,
      ),
      {
        $metadata: { httpStatusCode: 500 },
      },
    );
    const unsupported = scriptedClient<SQSClient>({
      ListMessageMoveTasks: () => {
        throw moto;
      },
    });
    await expect(new SqsMessageMoveGateway(unsupported.client).listMoves(DLQ)).rejects.toBeInstanceOf(
      MoveTasksUnsupported,
    );
    const throttled = scriptedClient<SQSClient>({
      StartMessageMoveTask: () => {
        throw awsError('ThrottlingException', 400);
      },
    });
    const error = await new SqsMessageMoveGateway(throttled.client)
      .startMove({ sourceArn: DLQ, destinationArn: QUEUE })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).kind).toBe('retryable');
  });

  it.each([
    [awsError('UnsupportedOperation', 400), true],
    [awsError('InvalidAction', 400), true],
    [awsError('Whatever', 501), true],
    [awsError('InternalError', 500), false],
    [awsError('AccessDenied', 403), false],
  ])('isUnsupportedAction(%s) is %s', (error, unsupported) => {
    expect(isUnsupportedAction(error)).toBe(unsupported);
  });
});
