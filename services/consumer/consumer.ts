// The consumer: long-polls one SQS queue, hands each message to a handler with bounded
// concurrency and a timeout, keeps held work invisible with a heartbeat, retries a failing message
// in process for a retry budget (minutes) before SQS counts a failed receive, then backs it off
// until SQS's redrive takes it to the dead-letter queue; keeps FIFO groups in order without
// spending a group-mate's receives on another's failure; and drains within a grace period.
import type { Message } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import {
  DEFAULT_BACKOFF,
  DEFAULT_RETRY,
  backoffSeconds,
  retryDelayMs,
  type BackoffPolicy,
  type RetryPolicy,
} from './backoff.ts';
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
  /** Visibility after a failure that SQS counts, by receive count. */
  backoff?: BackoffPolicy;
  /**
   * How long a failing message is retried in process, kept invisible by the heartbeat, before it
   * is handed back to SQS (which counts a receive towards the redrive). Default 0: at once.
   */
  retryBudgetMs?: number;
  /** Pauses between in-process attempts. */
  retry?: RetryPolicy;
  /** One handler attempt is aborted and counted failed after this. Default 60 s. */
  handlerTimeoutMs?: number;
  /**
   * Liveness turns false when the receive loop has not come round for this long. Default: the
   * long-poll wait plus 60 s (a receive is bounded by the SQS client's own timeout).
   */
  stallAfterMs?: number;
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
  raw: Message;
  message: InboundMessage;
  state: HeldState;
  abort: AbortController;
  receivedAt: number;
  extendedAt: number;
  /** Handled, its delete under way. */
  deleting?: boolean;
}

const SQS_MAX_VISIBILITY_MS = 43_200_000;
/** Once a few slots are free, how long to wait for more so that one receive fills a batch. */
const RECEIVE_LINGER_MS = 50;
/** A handler still running this long after its timeout ignores its abort signal: not live. */
const ABANDONED_HANDLER_MS = 30_000;
/** Part of the grace period kept for releasing what is held when handlers overrun it. */
const RELEASE_RESERVE_MS = 2_000;

export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
}
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
  #settingsKnown = false;
  #settingsFailures = 0;
  #loopBeat = Date.now();
  /** Start times of attempts that timed out but whose handler has not returned yet. */
  readonly #abandoned = new Set<number>();
  readonly #retryBudgetMs: number;
  readonly #handlerTimeoutMs: number;
  readonly #stallAfterMs: number;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#queueName = options.queue.url.split('/').pop() ?? options.queue.url;
    this.#logger = options.logger.child({ queue: this.#queueName });
    this.#concurrency = Math.max(1, options.concurrency ?? 10);
    this.#batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
    this.#waitTimeSeconds = Math.min(20, Math.max(0, options.waitTimeSeconds ?? 20));
    this.#retryBudgetMs = Math.max(0, options.retryBudgetMs ?? 0);
    this.#handlerTimeoutMs = Math.max(1, options.handlerTimeoutMs ?? 60_000);
    this.#stallAfterMs = options.stallAfterMs ?? this.#waitTimeSeconds * 1000 + 60_000;
    // FIFO-ness is known from the URL before any attribute is read, and never assumed away.
    this.#settings = {
      ...DEFAULT_QUEUE_SETTINGS,
      fifo: options.queue.url.endsWith('.fifo'),
      ...options.settings,
    };
    this.#deleter = new DeleteBatcher(this.#queue, this.#logger, {
      onError: (operation) => this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation }),
      // Lingering for more deletes pays only while other handlers may finish meanwhile.
      nothingMoreSoon: () => [...this.#held.values()].every((h) => h.deleting || h.state === 'waiting'),
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

  /**
   * Liveness: false when the receive loop died, has not come round for `stallAfterMs`, or a
   * handler keeps running long after its timeout aborted it.
   */
  get healthy(): boolean {
    if (this.#fatal !== undefined) return false;
    if (this.#state !== 'running') return true;
    const now = Date.now();
    if (now - this.#loopBeat > this.#stallAfterMs) return false;
    for (const since of this.#abandoned) if (now - since > ABANDONED_HANDLER_MS) return false;
    return true;
  }

  /** Readiness: receiving with the queue's settings known, and the last receives did not all fail. */
  get ready(): boolean {
    return (
      this.#state === 'running' &&
      this.#settingsKnown &&
      this.healthy &&
      this.#receiveFailures < UNREADY_AFTER_FAILED_RECEIVES
    );
  }

  /** Reads the queue's settings (until it can, before the first receive) and starts receiving. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`consumer cannot start: it is ${this.#state}`);
    this.#state = 'running';
    this.#loopBeat = Date.now();
    await this.#readSettings();
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
    // Handlers may run until here; what they still hold after it is released before the deadline.
    const handlersUntil = deadline - Math.min(RELEASE_RESERVE_MS, graceMs / 5);
    const wasRunning = this.#state === 'running';
    this.#state = 'draining';
    this.#stopSignal.abort();
    this.#slotFreed?.();
    if (wasRunning) this.#logger.info({ inFlight: this.#held.size }, 'draining');
    // A receive in progress is awaited, not aborted: SQS may already have handed it messages,
    // which an aborted request would hide for a whole visibility timeout. What it brings is
    // released at once. Only the end of the handlers' time aborts it.
    let deadlineTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#loop,
      new Promise<void>((resolve) => {
        deadlineTimer = setTimeout(
          () => {
            this.#receiveAbort.abort();
            resolve();
          },
          Math.max(0, handlersUntil - Date.now()),
        );
      }),
    ]);
    clearTimeout(deadlineTimer);
    await Promise.race([this.#loop, sleep(Math.max(0, deadline - Date.now()))]);
    const waiting = [...this.#held.values()].filter((h) => h.state === 'waiting');
    let released = (await this.#releaseAll(waiting, deadline)).length;
    while (this.#held.size > 0 && Date.now() < handlersUntil)
      await this.#nextSlot(handlersUntil - Date.now());
    if (this.#held.size > 0) {
      this.#logger.warn(
        { inFlight: this.#held.size },
        'grace period over; aborting the handlers still running',
      );
      for (const held of this.#held.values()) held.abort.abort();
      const settleBy = Math.min(deadline, Date.now() + 500);
      while (this.#held.size > 0 && Date.now() < settleBy) await this.#nextSlot(settleBy - Date.now());
      released += (await this.#releaseAll([...this.#held.values()], deadline)).length;
    }
    await Promise.race([this.#deleter.flush(), sleep(Math.max(0, deadline - Date.now()))]);
    clearInterval(this.#heartbeat);
    this.#state = 'stopped';
    const report = { finished: this.#finishedWhileDraining, released };
    this.#logger.info(report, 'consumer stopped');
    return report;
  }

  /** Releases in parallel, giving up at the deadline; resolves with the ones released. */
  async #releaseAll(held: readonly Held[], deadline: number): Promise<Held[]> {
    const done: Held[] = [];
    await Promise.race([
      Promise.all(
        held.map(async (h) => {
          if (await this.#release(h, 'shutdown')) done.push(h);
        }),
      ),
      sleep(Math.max(0, deadline - Date.now())),
    ]);
    return done;
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

  /**
   * Reads the queue's visibility timeout and redrive limit; true once known. Without them the
   * consumer does not receive: guessing would get the heartbeat or the last try wrong.
   */
  async #readSettings(): Promise<boolean> {
    try {
      const read = await this.#queue.settings();
      this.#settings = {
        ...read,
        fifo: read.fifo || this.#queue.url.endsWith('.fifo'),
        ...this.#options.settings,
      };
    } catch (error) {
      this.#logger.warn(
        { err: errorMessage(error), failures: ++this.#settingsFailures },
        'could not read the queue attributes; not receiving until they can be read',
      );
      return false;
    }
    this.#settingsKnown = true;
    if (this.#settingsFailures > 0)
      this.#logger.info(
        { ...this.#settings, failures: this.#settingsFailures },
        'queue attributes read; receiving',
      );
    const heartbeatMs = (this.#settings.visibilityTimeoutSeconds * 1000) / 3;
    if (heartbeatMs > 0 && !this.#heartbeat) {
      this.#heartbeat = setInterval(() => void this.#beat(heartbeatMs), Math.max(10, heartbeatMs / 2));
      this.#heartbeat.unref();
    }
    return true;
  }

  #pauseAfterFailure(failures: number): Promise<void> {
    const delayMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 10)) * (0.5 + this.#random() / 2);
    return sleep(delayMs, this.#stopSignal.signal);
  }

  async #receiveLoop(): Promise<void> {
    const { signal } = this.#receiveAbort;
    let lingerSince: number | undefined;
    while (this.#state === 'running') {
      this.#loopBeat = Date.now();
      if (!this.#settingsKnown) {
        if (await this.#readSettings()) continue;
        await this.#pauseAfterFailure(this.#settingsFailures);
        continue;
      }
      const capacity = this.#concurrency - this.#held.size;
      if (capacity <= 0) {
        await this.#nextSlot(1_000);
        continue;
      }
      // Asking for the one or two slots just freed would take many small receives: wait a
      // moment for a full batch's worth.
      const wanted = Math.min(this.#batchSize, this.#concurrency);
      if (capacity < wanted) {
        lingerSince ??= Date.now();
        const left = lingerSince + RECEIVE_LINGER_MS - Date.now();
        if (left > 0) {
          await this.#nextSlot(left);
          continue;
        }
      }
      lingerSince = undefined;
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
        this.#options.metrics?.sqsErrors.inc({ queue: this.#queueName, operation: 'receive' });
        this.#logger.warn({ err: errorMessage(error), failures: this.#receiveFailures }, 'receive failed');
        await this.#pauseAfterFailure(this.#receiveFailures);
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
        raw,
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
   * Runs one group's messages in order. A failing message holds its group: it is retried in
   * process while its group-mates wait (kept invisible), so they never pay receives for it. Only
   * when it cannot be moved out of the way (no dead-letter queue known, a failed delete) is the
   * rest of the group released, for SQS to hand out again after it.
   */
  async #runGroup(group: readonly Held[]): Promise<void> {
    for (const [index, held] of group.entries()) {
      if (held.state !== 'waiting') continue;
      if (this.#state !== 'running') {
        await this.#release(held, 'shutdown');
        continue;
      }
      const mates = group.slice(index + 1);
      if (!(await this.#handle(held, mates.length > 0))) {
        await Promise.all(
          mates.filter((m) => m.state === 'waiting').map((m) => this.#release(m, 'fifo_order')),
        );
        return;
      }
    }
  }

  /** One attempt of the handler, aborted and failed after the handler timeout. */
  async #attempt(held: Held, logger: Logger): Promise<void> {
    const attempt = new AbortController();
    const onAbort = () => attempt.abort();
    held.abort.signal.addEventListener('abort', onAbort, { once: true });
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const run = this.#options.handler(held.message, { signal: attempt.signal, logger });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        attempt.abort();
        this.#abandoned.add(startedAt);
        void run.then(
          () => this.#abandoned.delete(startedAt),
          () => this.#abandoned.delete(startedAt),
        );
        reject(new HandlerTimeoutError(`handler did not finish in ${this.#handlerTimeoutMs} ms`));
      }, this.#handlerTimeoutMs);
    });
    try {
      await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
      held.abort.signal.removeEventListener('abort', onAbort);
    }
  }

  /** True when the message is out of the way (deleted or moved) and its group may go on. */
  async #handle(held: Held, matesWaiting: boolean): Promise<boolean> {
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
      const idempotency = this.#options.idempotency;
      const stopping = AbortSignal.any([held.abort.signal, this.#stopSignal.signal]);
      let budgetFrom = Date.now();
      let attempts = 0;
      /** Receives the message spent here rather than at SQS, to spare its group-mates. */
      let extraReceives = 0;
      try {
        for (;;) {
          const stopTimer = metrics?.duration.startTimer(labels);
          try {
            if (idempotency && (await idempotency.seen(message.idempotencyKey))) {
              stopTimer?.();
              logger.info(
                { idempotencyKey: message.idempotencyKey },
                'duplicate message; deleting it unhandled',
              );
              const deleted = await this.#delete(held, logger);
              metrics?.processed.inc({ ...labels, outcome: 'duplicate' });
              return deleted || !this.#settings.fifo;
            }
            await this.#attempt(held, logger);
            stopTimer?.();
          } catch (error) {
            stopTimer?.();
            if (held.abort.signal.aborted || isPoison(error))
              return await this.#fail(held, error, logger, labels, extraReceives);
            attempts += 1;
            const delay = retryDelayMs(attempts, this.#options.retry ?? DEFAULT_RETRY, () => this.#random());
            if (this.#state === 'running' && Date.now() + delay - budgetFrom < this.#retryBudgetMs) {
              logger.warn(
                { err: errorMessage(error), attempt: attempts, retryInMs: delay },
                'handling failed; retrying while the message stays invisible',
              );
              await sleep(delay, stopping);
              if (this.#state !== 'running')
                return await this.#fail(held, error, logger, labels, extraReceives);
              continue;
            }
            // A FIFO message with group-mates behind it spends its receives here, paced as SQS would be.
            const maxReceiveCount = this.#settings.maxReceiveCount;
            if (
              this.#settings.fifo &&
              matesWaiting &&
              this.#queue.deadLetter &&
              maxReceiveCount !== undefined &&
              this.#state === 'running' &&
              message.receiveCount + extraReceives < maxReceiveCount
            ) {
              const pauseMs =
                1000 *
                backoffSeconds(
                  message.receiveCount + extraReceives,
                  this.#options.backoff ?? DEFAULT_BACKOFF,
                  () => this.#random(),
                );
              extraReceives += 1;
              logger.warn(
                {
                  err: errorMessage(error),
                  tryingAgainInMs: pauseMs,
                  receivesSpent: message.receiveCount + extraReceives - 1,
                },
                'handling failed; trying again in place, so that its group-mates keep their receives',
              );
              await sleep(pauseMs, stopping);
              if (this.#state !== 'running')
                return await this.#fail(held, error, logger, labels, extraReceives);
              budgetFrom = Date.now();
              attempts = 0;
              continue;
            }
            return await this.#fail(held, error, logger, labels, extraReceives);
          }
          await idempotency?.remember(message.idempotencyKey).catch((error: unknown) => {
            logger.warn({ err: errorMessage(error) }, 'could not record the idempotency key');
          });
          const deleted = await this.#delete(held, logger);
          metrics?.processed.inc({ ...labels, outcome: 'handled' });
          logger.debug('message handled');
          // A FIFO message that could not be deleted comes back: the next of its group must wait.
          return deleted || !this.#settings.fifo;
        }
      } finally {
        if (this.#state === 'draining') this.#finishedWhileDraining += 1;
      }
    });
  }

  /** Hands a failed message back, or moves it to the dead-letter queue; true when it is out of the way. */
  async #fail(
    held: Held,
    error: unknown,
    logger: Logger,
    labels: { queue: string; event_type: string },
    extraReceives: number,
  ): Promise<boolean> {
    const receiveCount = held.message.receiveCount + extraReceives;
    const maxReceiveCount = this.#settings.maxReceiveCount;
    const lastTry = maxReceiveCount !== undefined && receiveCount >= maxReceiveCount;
    let reason: 'shutdown' | 'poison' | 'error';
    let visibility: number;
    if (held.abort.signal.aborted || this.#state !== 'running') {
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
    // In a FIFO queue a message that will never pass blocks its group: the consumer moves it to
    // the dead-letter queue itself rather than spend receives (its own and its group-mates').
    if (
      reason !== 'shutdown' &&
      this.#settings.fifo &&
      this.#queue.deadLetter &&
      (reason === 'poison' || lastTry)
    ) {
      this.#options.metrics?.deadLettered.inc(labels);
      try {
        await this.#queue.deadLetter(held.raw);
        logger.error(
          { err: errorMessage(error), reason, receiveCount },
          'handling failed; moved to the dead-letter queue',
        );
        return await this.#delete(held, logger);
      } catch (moveError) {
        logger.warn({ err: errorMessage(moveError) }, 'could not move the message to the dead-letter queue');
        await this.#setVisibility(held, 0, logger);
        return false;
      }
    }
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
    return false;
  }

  /** True when SQS deleted the message. */
  async #delete(held: Held, logger: Logger): Promise<boolean> {
    const entry: BatchEntry = { id: held.id, receiptHandle: held.message.receiptHandle };
    held.deleting = true;
    try {
      const deleted = await this.#deleter.delete(entry);
      if (!deleted) {
        logger.warn('message handled but not deleted; it will be delivered again');
        // FIFO: its group waits for it, so bring it back now rather than after the visibility timeout.
        if (this.#settings.fifo)
          await this.#queue.changeVisibility(entry.receiptHandle, 0).catch(() => undefined);
      }
      return deleted;
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
