// The consumer: long-polls one SQS queue, hands each message to a handler with bounded
// concurrency, keeps long work invisible with a heartbeat, deletes what was handled, backs off
// what failed until SQS's redrive takes it to the dead-letter queue, keeps FIFO groups in order,
// and drains within a grace period when asked to stop.
import type { Message } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { DEFAULT_BACKOFF, backoffSeconds, type BackoffPolicy } from './backoff.ts';
import { DeleteBatcher } from './deleter.ts';
import { errorMessage, isPoison } from './errors.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { decodeMessage, type InboundMessage } from './message.ts';
import type { ConsumerMetrics } from './metrics.ts';
import { DEFAULT_QUEUE_SETTINGS, type BatchEntry, type QueueClient, type QueueSettings } from './queue.ts';
import { newTraceId, withTraceId } from './trace.ts';

export interface HandlerContext {
  /** Aborted when the grace period of a shutdown ends before the handler does. */
  signal: AbortSignal;
  /** Carries the message id, event type and receive count; the trace id is added to every line. */
  logger: Logger;
}

/** Resolves when the message was handled; throws to have it retried (or PoisonMessageError). */
export type MessageHandler = (message: InboundMessage, context: HandlerContext) => Promise<void>;

export interface ConsumerOptions {
  queue: QueueClient;
  handler: MessageHandler;
  logger: Logger;
  metrics?: ConsumerMetrics | undefined;
  /** Messages held at once (received, not yet deleted or released). Default 10. */
  concurrency?: number;
  /** Messages asked for per receive, 1-10. Default 10. */
  batchSize?: number;
  /** Long-poll wait, 0-20 s. Default 20. */
  waitTimeSeconds?: number;
  backoff?: BackoffPolicy;
  /** Skips messages whose idempotency key was handled before. */
  idempotency?: IdempotencyStore | undefined;
  /** Overrides what is read from the queue's attributes. */
  settings?: Partial<QueueSettings>;
  random?: () => number;
}

export interface StopReport {
  /** Messages whose handler finished during the drain. */
  finished: number;
  /** Messages made visible again untouched or abandoned when the grace period ended. */
  released: number;
}

type HeldState = 'waiting' | 'running' | 'done';

interface Held {
  id: string;
  message: InboundMessage;
  state: HeldState;
  abort: AbortController;
  receivedAt: number;
  extendedAt: number;
}

const SQS_MAX_VISIBILITY_MS = 43_200_000;
/** Consecutive failed receives after which the consumer reports itself not ready. */
const UNREADY_AFTER_FAILED_RECEIVES = 3;
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export type ConsumerState = 'new' | 'running' | 'draining' | 'stopped';

export class Consumer {
  readonly #options: ConsumerOptions;
  readonly #queue: QueueClient;
  readonly #logger: Logger;
  readonly #queueName: string;
  readonly #concurrency: number;
  readonly #batchSize: number;
  readonly #waitTimeSeconds: number;
  readonly #held = new Map<string, Held>();
  /** Aborts the receive in progress: only when the grace period ends before it does. */
  readonly #receiveAbort = new AbortController();
  /** Cuts short the pause after a failed receive. */
  readonly #stopSignal = new AbortController();
  readonly #deleter: DeleteBatcher;
  #settings: QueueSettings = DEFAULT_QUEUE_SETTINGS;
  #state: ConsumerState = 'new';
  #sequence = 0;
  #loop: Promise<void> = Promise.resolve();
  #heartbeat: NodeJS.Timeout | undefined;
  #slotFreed: (() => void) | undefined;
  #stopping: Promise<StopReport> | undefined;
  #finishedWhileDraining = 0;
  #fatal: Error | undefined;
  #receiveFailures = 0;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#queueName = options.queue.url.split('/').pop() ?? options.queue.url;
    this.#logger = options.logger.child({ queue: this.#queueName });
    this.#concurrency = Math.max(1, options.concurrency ?? 10);
    this.#batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
    this.#waitTimeSeconds = Math.min(20, Math.max(0, options.waitTimeSeconds ?? 20));
    this.#deleter = new DeleteBatcher(this.#queue, this.#logger, {
      onError: (operation) => this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation }),
    });
  }

  get state(): ConsumerState {
    return this.#state;
  }

  /** Received and not yet deleted or released. */
  get inFlight(): number {
    return this.#held.size;
  }

  get settings(): QueueSettings {
    return this.#settings;
  }

  /** Liveness: false only when the receive loop died of an error it could not handle. */
  get healthy(): boolean {
    return this.#fatal === undefined;
  }

  /** Readiness: receiving, and the last receives did not all fail. */
  get ready(): boolean {
    return this.#state === 'running' && this.healthy && this.#receiveFailures < UNREADY_AFTER_FAILED_RECEIVES;
  }

  /** Reads the queue's settings and starts receiving. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`consumer cannot start: it is ${this.#state}`);
    let read = DEFAULT_QUEUE_SETTINGS;
    try {
      read = await this.#queue.settings();
    } catch (error) {
      this.#logger.warn(
        { err: errorMessage(error) },
        'could not read the queue attributes; assuming SQS defaults (visibility 30 s, no redrive limit)',
      );
    }
    this.#settings = { ...read, ...this.#options.settings };
    this.#state = 'running';
    const heartbeatMs = (this.#settings.visibilityTimeoutSeconds * 1000) / 3;
    if (heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => void this.#beat(heartbeatMs), Math.max(10, heartbeatMs / 2));
      this.#heartbeat.unref();
    }
    this.#logger.info(
      { ...this.#settings, concurrency: this.#concurrency, batchSize: this.#batchSize },
      'consumer started',
    );
    this.#loop = this.#receiveLoop().catch((error: unknown) => {
      this.#fatal = error instanceof Error ? error : new Error(String(error));
      this.#logger.fatal({ err: errorMessage(error) }, 'receive loop stopped');
    });
  }

  /**
   * Stops receiving, releases what has not started, waits for running handlers up to `graceMs`,
   * then aborts and releases the rest. Safe to call more than once.
   */
  stop(graceMs = 25_000): Promise<StopReport> {
    this.#stopping ??= this.#drain(graceMs);
    return this.#stopping;
  }

  async #drain(graceMs: number): Promise<StopReport> {
    const deadline = Date.now() + graceMs;
    const wasRunning = this.#state === 'running';
    this.#state = 'draining';
    this.#stopSignal.abort();
    this.#slotFreed?.();
    if (wasRunning) this.#logger.info({ inFlight: this.#held.size }, 'draining');
    // A receive in progress is awaited, not aborted: SQS may already have handed it messages,
    // which an aborted request would hide for a whole visibility timeout. What it brings is
    // released at once. Only the end of the grace period aborts it.
    let deadlineTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#loop,
      new Promise<void>((resolve) => {
        deadlineTimer = setTimeout(() => {
          this.#receiveAbort.abort();
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(deadlineTimer);
    await this.#loop;
    let released = 0;
    for (const held of [...this.#held.values()]) {
      if (held.state === 'waiting' && (await this.#release(held, 'shutdown'))) released += 1;
    }
    while (this.#held.size > 0 && Date.now() < deadline) await this.#nextSlot(deadline - Date.now());
    if (this.#held.size > 0) {
      this.#logger.warn(
        { inFlight: this.#held.size },
        'grace period over; aborting the handlers still running',
      );
      for (const held of this.#held.values()) held.abort.abort();
      const settleBy = Date.now() + 1000;
      while (this.#held.size > 0 && Date.now() < settleBy) await this.#nextSlot(settleBy - Date.now());
      for (const held of [...this.#held.values()]) if (await this.#release(held, 'shutdown')) released += 1;
    }
    await this.#deleter.flush();
    clearInterval(this.#heartbeat);
    this.#state = 'stopped';
    const report = { finished: this.#finishedWhileDraining, released };
    this.#logger.info(report, 'consumer stopped');
    return report;
  }

  #nextSlot(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, timeoutMs));
      this.#slotFreed = () => {
        clearTimeout(timer);
        this.#slotFreed = undefined;
        resolve();
      };
    });
  }

  async #receiveLoop(): Promise<void> {
    const { signal } = this.#receiveAbort;
    while (this.#state === 'running') {
      const capacity = this.#concurrency - this.#held.size;
      if (capacity <= 0) {
        await this.#nextSlot(60_000);
        continue;
      }
      let messages;
      try {
        messages = await this.#queue.receive(
          Math.min(this.#batchSize, capacity),
          this.#waitTimeSeconds,
          signal,
        );
        this.#receiveFailures = 0;
      } catch (error) {
        if (signal.aborted) break;
        this.#receiveFailures += 1;
        const failures = this.#receiveFailures;
        this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation: 'receive' });
        const delayMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 10)) * (0.5 + this.#random() / 2);
        this.#logger.warn({ err: errorMessage(error), retryInMs: Math.round(delayMs) }, 'receive failed');
        await sleep(delayMs, this.#stopSignal.signal);
        continue;
      }
      // After a stop, the messages of the last receive are dispatched only to be released.
      this.#dispatch(messages);
    }
  }

  #random(): number {
    return (this.#options.random ?? Math.random)();
  }

  #dispatch(messages: readonly Message[]): void {
    const batch: Held[] = [];
    const now = Date.now();
    for (const raw of messages) {
      let message: InboundMessage;
      try {
        message = decodeMessage(raw);
      } catch (error) {
        this.#logger.error({ err: errorMessage(error) }, 'skipping a message SQS returned incomplete');
        continue;
      }
      this.#sequence += 1;
      const held: Held = {
        id: `m${this.#sequence}`,
        message,
        state: 'waiting',
        abort: new AbortController(),
        receivedAt: now,
        extendedAt: now,
      };
      this.#held.set(held.id, held);
      batch.push(held);
    }
    if (batch.length === 0) return;
    this.#options.metrics?.received.inc({ queue: this.#queueName }, batch.length);
    this.#options.metrics?.inFlight.set({ queue: this.#queueName }, this.#held.size);
    if (!this.#settings.fifo) {
      for (const held of batch) void this.#runGroup([held]);
      return;
    }
    // FIFO: the messages of one group in a batch run one after the other, in order.
    const groups = new Map<string, Held[]>();
    for (const held of batch) {
      const key = held.message.groupId ?? held.id;
      groups.set(key, [...(groups.get(key) ?? []), held]);
    }
    for (const group of groups.values()) void this.#runGroup(group);
  }

  /**
   * Runs one group's messages in order. After a failure the rest of the group is released: SQS
   * hands them out again only after the failed one is deleted or dead-lettered, so order holds.
   */
  async #runGroup(group: readonly Held[]): Promise<void> {
    for (const [index, held] of group.entries()) {
      if (held.state !== 'waiting') continue;
      if (this.#state !== 'running') {
        await this.#release(held, 'shutdown');
        continue;
      }
      if (!(await this.#handle(held))) {
        for (const rest of group.slice(index + 1)) {
          if (rest.state === 'waiting') await this.#release(rest, 'fifo_order');
        }
        return;
      }
    }
  }

  async #handle(held: Held): Promise<boolean> {
    held.state = 'running';
    const { message } = held;
    const traceId = message.traceId ?? newTraceId();
    return withTraceId(traceId, async () => {
      const eventType = message.eventType ?? 'unknown';
      const labels = { queue: this.#queueName, event_type: eventType };
      const logger = this.#logger.child({
        messageId: message.messageId,
        eventType,
        receiveCount: message.receiveCount,
      });
      const metrics = this.#options.metrics;
      const stopTimer = metrics?.duration.startTimer(labels);
      const idempotency = this.#options.idempotency;
      try {
        if (idempotency && (await idempotency.seen(message.idempotencyKey))) {
          stopTimer?.();
          logger.info({ idempotencyKey: message.idempotencyKey }, 'duplicate message; deleting it unhandled');
          await this.#delete(held, logger);
          metrics?.processed.inc({ ...labels, outcome: 'duplicate' });
          return true;
        }
        await this.#options.handler(message, { signal: held.abort.signal, logger });
        stopTimer?.();
        await idempotency?.remember(message.idempotencyKey).catch((error: unknown) => {
          logger.warn({ err: errorMessage(error) }, 'could not record the idempotency key');
        });
        await this.#delete(held, logger);
        metrics?.processed.inc({ ...labels, outcome: 'handled' });
        logger.debug('message handled');
        return true;
      } catch (error) {
        stopTimer?.();
        await this.#fail(held, error, logger, labels);
        return false;
      } finally {
        if (this.#state === 'draining') this.#finishedWhileDraining += 1;
      }
    });
  }

  async #fail(
    held: Held,
    error: unknown,
    logger: Logger,
    labels: { queue: string; event_type: string },
  ): Promise<void> {
    const { receiveCount } = held.message;
    const maxReceiveCount = this.#settings.maxReceiveCount;
    const lastTry = maxReceiveCount !== undefined && receiveCount >= maxReceiveCount;
    let reason: 'shutdown' | 'poison' | 'error';
    let visibility: number;
    if (held.abort.signal.aborted) {
      reason = 'shutdown';
      visibility = 0;
    } else if (isPoison(error)) {
      reason = 'poison';
      visibility = 0;
    } else {
      reason = 'error';
      visibility = lastTry
        ? 0
        : backoffSeconds(receiveCount, this.#options.backoff ?? DEFAULT_BACKOFF, () => this.#random());
    }
    this.#options.metrics?.failed.inc({ ...labels, reason });
    if (reason !== 'shutdown')
      (lastTry ? this.#options.metrics?.deadLettered : this.#options.metrics?.retried)?.inc(labels);
    const next =
      reason === 'shutdown'
        ? 'released for another consumer'
        : lastTry
          ? 'SQS moves it to the dead-letter queue on its next receive'
          : reason === 'poison'
            ? 'made visible again at once, on its way to the dead-letter queue'
            : `retried in ${visibility} s`;
    logger[lastTry || reason === 'poison' ? 'error' : 'warn'](
      { err: errorMessage(error), reason, maxReceiveCount },
      `handling failed; ${next}`,
    );
    await this.#setVisibility(held, visibility, logger);
  }

  async #delete(held: Held, logger: Logger): Promise<void> {
    const entry: BatchEntry = { id: held.id, receiptHandle: held.message.receiptHandle };
    try {
      if (!(await this.#deleter.delete(entry)))
        logger.warn('message handled but not deleted; it will be delivered again');
    } finally {
      this.#forget(held);
    }
  }

  /** Makes a message visible again untouched; false when it was no longer held. */
  async #release(held: Held, reason: 'fifo_order' | 'shutdown'): Promise<boolean> {
    if (held.state === 'done') return false;
    held.state = 'done';
    this.#options.metrics?.released.inc({ queue: this.#queueName, reason });
    await this.#setVisibility(held, 0, this.#logger.child({ messageId: held.message.messageId }));
    return true;
  }

  async #setVisibility(held: Held, seconds: number, logger: Logger): Promise<void> {
    try {
      await this.#queue.changeVisibility(held.message.receiptHandle, seconds);
    } catch (error) {
      this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation: 'visibility' });
      logger.warn({ err: errorMessage(error) }, 'could not change the visibility; the old timeout applies');
    } finally {
      this.#forget(held);
    }
  }

  #forget(held: Held): void {
    held.state = 'done';
    if (!this.#held.delete(held.id)) return;
    this.#options.metrics?.inFlight.set({ queue: this.#queueName }, this.#held.size);
    this.#slotFreed?.();
  }

  /** Extends the visibility of every held message not extended for `intervalMs`. */
  async #beat(intervalMs: number): Promise<void> {
    const now = Date.now();
    const seconds = this.#settings.visibilityTimeoutSeconds;
    const due = [...this.#held.values()].filter(
      (h) => now - h.extendedAt >= intervalMs && now - h.receivedAt + seconds * 1000 < SQS_MAX_VISIBILITY_MS,
    );
    for (let i = 0; i < due.length; i += 10) {
      const chunk = due.slice(i, i + 10);
      let failed: Set<string>;
      try {
        const failures = await this.#queue.changeVisibilityBatch(
          chunk.map((h) => ({ id: h.id, receiptHandle: h.message.receiptHandle })),
          seconds,
        );
        failed = new Set(failures.map((f) => f.id));
        if (failures.length > 0) {
          this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation: 'visibility' });
          this.#logger.warn(
            { codes: failures.map((f) => f.code) },
            'could not extend the visibility of some messages; they may be delivered again',
          );
        }
      } catch (error) {
        this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation: 'visibility' });
        this.#logger.warn({ err: errorMessage(error) }, 'visibility heartbeat failed');
        continue;
      }
      for (const held of chunk) if (!failed.has(held.id)) held.extendedAt = now;
    }
  }
}
