// An in-memory queue with the SQS behaviour the consumer depends on: visibility timeouts, receive
// counts, redrive to a dead-letter list after maxReceiveCount, FIFO groups held while one of their
// messages is in flight, receipt handles that go stale. For tests of the consumer; and for tests
// of handlers, a recording publisher and messages shaped as the consumer hands them over.
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import type { HandlerContext } from './consumer.ts';
import type { HttpRequest } from './http.ts';
import { decodeMessage } from './message.ts';
import type { OutboundEvent, Publisher } from './publisher.ts';
import type { BatchEntry, BatchFailure, QueueClient, QueueSettings } from './queue.ts';
import { newTraceId } from './trace.ts';

interface Stored {
  id: string;
  body: string;
  attributes: Record<string, string>;
  groupId: string | undefined;
  receiveCount: number;
  visibleAt: number;
  receipt: string | undefined;
}

export interface MemoryQueueOptions {
  url?: string;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  fifo?: boolean;
  /** The clock visibility is measured on; tests may move it by hand. Default Date.now. */
  now?: () => number;
  /** Longest real wait of an empty receive, whatever WaitTimeSeconds says. Default 20 ms. */
  maxWaitMs?: number;
  /** The consumer knows the dead-letter queue and may move messages there itself. */
  deadLetterQueue?: boolean;
}

export interface VisibilityChange {
  messageId: string;
  seconds: number;
}

export class MemoryQueue implements QueueClient {
  readonly url: string;
  readonly queueSettings: QueueSettings;
  readonly deadLetters: { id: string; body: string; receiveCount: number }[] = [];
  /** Every ChangeMessageVisibility, batch entries included, in order. */
  readonly visibilityChanges: VisibilityChange[] = [];
  /** Entries of each DeleteMessageBatch call. */
  readonly deleteCalls: number[] = [];
  /** Return a failure to fail one delete entry (called per entry). */
  deleteFailure: ((messageId: string) => Omit<BatchFailure, 'id'> | undefined) | undefined;
  /** Receives left to fail with an error. */
  failReceives = 0;
  /** Attribute reads left to fail with an error. */
  failSettings = 0;
  /** Receives and visibility changes never answer (until aborted), as an SQS that hangs. */
  hang = false;
  /** MaxNumberOfMessages of every receive. */
  readonly receiveSizes: number[] = [];
  /** Messages the consumer moved to the dead-letter queue itself. */
  readonly moved: { id: string; body: string; groupId: string | undefined }[] = [];
  readonly deadLetter: ((message: Message) => Promise<void>) | undefined;
  readonly #messages: Stored[] = [];
  readonly #now: () => number;
  readonly #maxWaitMs: number;
  #wake: (() => void) | undefined;

  constructor(options: MemoryQueueOptions = {}) {
    const fifo = options.fifo ?? false;
    this.url = options.url ?? `http://sqs.local/123456789012/memory${fifo ? '.fifo' : ''}`;
    this.queueSettings = {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: options.maxReceiveCount,
      fifo,
    };
    this.#now = options.now ?? Date.now;
    this.#maxWaitMs = options.maxWaitMs ?? 20;
    this.deadLetter = options.deadLetterQueue
      ? (message) => {
          this.moved.push({
            id: message.MessageId ?? '',
            body: message.Body ?? '',
            groupId: message.Attributes?.['MessageGroupId'],
          });
          return Promise.resolve();
        }
      : undefined;
  }

  #hung(signal?: AbortSignal): Promise<never> {
    return new Promise((_, reject) =>
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
    );
  }

  send(body: string, options: { attributes?: Record<string, string>; groupId?: string } = {}): string {
    const id = randomUUID();
    this.#messages.push({
      id,
      body,
      attributes: options.attributes ?? {},
      groupId: options.groupId,
      receiveCount: 0,
      visibleAt: 0,
      receipt: undefined,
    });
    this.#wake?.();
    return id;
  }

  /** Messages not yet deleted or dead-lettered. */
  get size(): number {
    return this.#messages.length;
  }

  /** Messages currently received and not yet visible again. */
  get inFlight(): number {
    const now = this.#now();
    return this.#messages.filter((m) => m.receipt !== undefined && m.visibleAt > now).length;
  }

  settings(): Promise<QueueSettings> {
    if (this.failSettings > 0) {
      this.failSettings -= 1;
      return Promise.reject(new Error('GetQueueAttributes failed (injected)'));
    }
    return Promise.resolve({ ...this.queueSettings });
  }

  async receive(maxMessages: number, waitTimeSeconds: number, signal: AbortSignal): Promise<Message[]> {
    this.receiveSizes.push(maxMessages);
    if (this.hang) return this.#hung(signal);
    if (this.failReceives > 0) {
      this.failReceives -= 1;
      throw new Error('receive failed (injected)');
    }
    const until = Date.now() + Math.min(waitTimeSeconds * 1000, this.#maxWaitMs);
    for (;;) {
      if (signal.aborted) throw new Error('aborted');
      const found = this.#take(maxMessages);
      if (found.length > 0 || Date.now() >= until) return found;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, Math.min(5, until - Date.now())));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #take(max: number): Message[] {
    const now = this.#now();
    const out: Message[] = [];
    const busyGroups = new Set<string>();
    for (const stored of [...this.#messages]) {
      if (out.length >= max) break;
      const group = this.queueSettings.fifo ? stored.groupId : undefined;
      const visible = stored.visibleAt <= now;
      if (group !== undefined && busyGroups.has(group)) continue;
      if (!visible) {
        // A FIFO group waits for its message in flight, as SQS does.
        if (group !== undefined) busyGroups.add(group);
        continue;
      }
      const limit = this.queueSettings.maxReceiveCount;
      if (limit !== undefined && stored.receiveCount >= limit) {
        this.#messages.splice(this.#messages.indexOf(stored), 1);
        this.deadLetters.push({ id: stored.id, body: stored.body, receiveCount: stored.receiveCount });
        continue;
      }
      stored.receiveCount += 1;
      stored.receipt = randomUUID();
      stored.visibleAt = now + this.queueSettings.visibilityTimeoutSeconds * 1000;
      out.push({
        MessageId: stored.id,
        ReceiptHandle: stored.receipt,
        Body: stored.body,
        Attributes: {
          ApproximateReceiveCount: String(stored.receiveCount),
          SentTimestamp: String(now),
          ...(stored.groupId === undefined ? {} : { MessageGroupId: stored.groupId }),
        },
        MessageAttributes: Object.fromEntries(
          Object.entries(stored.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      });
    }
    return out;
  }

  #byReceipt(receipt: string): Stored | undefined {
    return this.#messages.find((m) => m.receipt === receipt);
  }

  deleteBatch(entries: readonly BatchEntry[]): Promise<BatchFailure[]> {
    this.deleteCalls.push(entries.length);
    const failures: BatchFailure[] = [];
    for (const entry of entries) {
      const stored = this.#byReceipt(entry.receiptHandle);
      const injected = stored && this.deleteFailure?.(stored.id);
      if (injected) failures.push({ id: entry.id, ...injected });
      else if (!stored) failures.push({ id: entry.id, code: 'ReceiptHandleIsInvalid', senderFault: true });
      else this.#messages.splice(this.#messages.indexOf(stored), 1);
    }
    return Promise.resolve(failures);
  }

  changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    if (this.hang) return this.#hung();
    const stored = this.#byReceipt(receiptHandle);
    if (!stored) return Promise.reject(new Error('ReceiptHandleIsInvalid'));
    stored.visibleAt = this.#now() + seconds * 1000;
    this.visibilityChanges.push({ messageId: stored.id, seconds });
    if (seconds === 0) this.#wake?.();
    return Promise.resolve();
  }

  async changeVisibilityBatch(entries: readonly BatchEntry[], seconds: number): Promise<BatchFailure[]> {
    const failures: BatchFailure[] = [];
    for (const entry of entries) {
      await this.changeVisibility(entry.receiptHandle, seconds).catch(() =>
        failures.push({ id: entry.id, code: 'ReceiptHandleIsInvalid', senderFault: true }),
      );
    }
    return failures;
  }
}

/** A Publisher that records what it is given; `failures` makes the next publishes fail. */
export class RecordingPublisher implements Publisher {
  readonly topicArn: string;
  readonly fifo: boolean;
  readonly published: OutboundEvent[] = [];
  failures = 0;

  constructor(topicArn = 'arn:aws:sns:eu-west-1:123456789012:events') {
    this.topicArn = topicArn;
    this.fifo = topicArn.endsWith('.fifo');
  }

  publish(event: OutboundEvent): Promise<string> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('publish failed (injected)'));
    }
    this.published.push(structuredClone(event));
    return Promise.resolve(`published-${this.published.length}`);
  }
}

/** A message as a handler receives it: `body` serialised as JSON, eventType and eventId as attributes. */
export function testMessage(
  eventType: string,
  body: unknown,
  options: { eventId?: string; receiveCount?: number } = {},
) {
  return decodeMessage({
    MessageId: randomUUID(),
    ReceiptHandle: randomUUID(),
    Body: typeof body === 'string' ? body : JSON.stringify(body),
    Attributes: { ApproximateReceiveCount: String(options.receiveCount ?? 1) },
    MessageAttributes: {
      eventType: { DataType: 'String', StringValue: eventType },
      eventId: { DataType: 'String', StringValue: options.eventId ?? randomUUID() },
    },
  });
}

/** What the consumer hands a handler besides the message: a live signal and a silent logger. */
export const testContext = (): HandlerContext => ({
  signal: new AbortController().signal,
  logger: pino({ level: 'silent' }),
});

/** A request as a route handler receives it; GET unless a body is given. */
export function testRequest(
  path: string,
  options: Partial<Pick<HttpRequest, 'method' | 'params' | 'headers' | 'body'>> = {},
): HttpRequest {
  const url = new URL(path, 'http://localhost');
  return {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    path: url.pathname,
    params: options.params ?? {},
    query: url.searchParams,
    headers: options.headers ?? {},
    body: options.body,
    traceId: newTraceId(),
    logger: pino({ level: 'silent' }),
  };
}
