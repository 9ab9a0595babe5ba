// The SQS calls the consumer makes, behind a narrow interface so that its logic can be tested
// against an in-memory queue and run unchanged against SQS.
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  /** Receives after which SQS moves a message to the dead-letter queue; absent without a redrive policy. */
  maxReceiveCount: number | undefined;
  fifo: boolean;
}

export interface BatchEntry {
  /** Unique within one call. */
  id: string;
  receiptHandle: string;
}

export interface BatchFailure {
  id: string;
  code: string;
  /** True when retrying the same request cannot succeed (e.g. an expired receipt handle). */
  senderFault: boolean;
}

export interface QueueClient {
  readonly url: string;
  settings(): Promise<QueueSettings>;
  receive(maxMessages: number, waitTimeSeconds: number, signal: AbortSignal): Promise<Message[]>;
  /** At most 10 entries; resolves with the entries SQS did not delete. */
  deleteBatch(entries: readonly BatchEntry[]): Promise<BatchFailure[]>;
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** At most 10 entries; resolves with the entries SQS did not change. */
  changeVisibilityBatch(entries: readonly BatchEntry[], seconds: number): Promise<BatchFailure[]>;
  /**
   * Sends a copy of a received message (body, attributes, group) to the dead-letter queue; absent
   * when the consumer does not know it. The caller deletes the original afterwards.
   */
  deadLetter?(message: Message): Promise<void>;
}

export interface SqsQueueOptions {
  /** The queue's dead-letter queue: lets the consumer move a FIFO message there itself. */
  deadLetterUrl?: string | undefined;
  /** Each call is abandoned after this; a receive after this plus its long-poll wait. Default 10 s. */
  timeoutMs?: number;
}

/** SQS's defaults when the queue's attributes cannot be read (e.g. no sqs:GetQueueAttributes). */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  visibilityTimeoutSeconds: 30,
  maxReceiveCount: undefined,
  fifo: false,
};

/** The queue's visibility timeout, redrive limit and FIFO-ness from its attributes. */
export function queueSettingsFrom(url: string, attributes: Readonly<Record<string, string>>): QueueSettings {
  const visibility = Number(attributes['VisibilityTimeout']);
  let maxReceiveCount: number | undefined;
  const redrive = attributes['RedrivePolicy'];
  if (redrive) {
    const parsed = JSON.parse(redrive) as { maxReceiveCount?: number | string };
    const n = Number(parsed.maxReceiveCount);
    if (Number.isInteger(n) && n > 0) maxReceiveCount = n;
  }
  return {
    visibilityTimeoutSeconds: Number.isInteger(visibility)
      ? visibility
      : DEFAULT_QUEUE_SETTINGS.visibilityTimeoutSeconds,
    maxReceiveCount,
    fifo: attributes['FifoQueue'] === 'true' || url.endsWith('.fifo'),
  };
}

const failures = (
  failed: readonly { Id?: string; Code?: string; SenderFault?: boolean }[] | undefined,
): BatchFailure[] =>
  (failed ?? []).map((f) => ({
    id: f.Id ?? '',
    code: f.Code ?? 'Unknown',
    senderFault: f.SenderFault ?? false,
  }));

/** QueueClient over the AWS SDK. */
export function sqsQueueClient(sqs: SQSClient, url: string, options: SqsQueueOptions = {}): QueueClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const bounded = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  const deadLetterUrl = options.deadLetterUrl;
  const client: QueueClient = {
    url,
    async settings() {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['VisibilityTimeout', 'RedrivePolicy', 'FifoQueue'],
        }),
        bounded(),
      );
      return queueSettingsFrom(url, out.Attributes ?? {});
    },
    async receive(maxMessages, waitTimeSeconds, signal) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitTimeSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: [
            'ApproximateReceiveCount',
            'SentTimestamp',
            'MessageGroupId',
            'MessageDeduplicationId',
          ],
        }),
        { abortSignal: AbortSignal.any([signal, AbortSignal.timeout(waitTimeSeconds * 1000 + timeoutMs)]) },
      );
      return out.Messages ?? [];
    },
    async deleteBatch(entries) {
      const out = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: entries.map((e) => ({ Id: e.id, ReceiptHandle: e.receiptHandle })),
        }),
        bounded(),
      );
      return failures(out.Failed);
    },
    async changeVisibility(receiptHandle, seconds) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
        bounded(),
      );
    },
    async changeVisibilityBatch(entries, seconds) {
      const out = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: entries.map((e) => ({
            Id: e.id,
            ReceiptHandle: e.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
        bounded(),
      );
      return failures(out.Failed);
    },
  };
  if (deadLetterUrl) {
    client.deadLetter = async (message) => {
      const group = message.Attributes?.['MessageGroupId'];
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterUrl,
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
          // The message id as deduplication id: a retried move within 5 minutes adds no second copy.
          ...(group ? { MessageGroupId: group, MessageDeduplicationId: message.MessageId } : {}),
        }),
        bounded(),
      );
    };
  }
  return client;
}
