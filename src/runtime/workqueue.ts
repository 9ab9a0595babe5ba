import { realClock, type Clock, type Timer } from './clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimiter.ts';

/** Hooks the queue calls so the metrics layer can count without the queue knowing prom-client. */
export interface WorkQueueMetrics {
  added(): void;
  depth(n: number): void;
  retried(): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queued(seconds: number): void;
  /** Seconds a worker held a key. */
  worked(seconds: number): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
}

/**
 * A queue of object keys, not of events. A key is queued at most once however often it is added;
 * a key added while a worker holds it is marked dirty and handed out again only after `done`, so
 * no two workers ever reconcile the same key at the same time. A key handed out drops its delayed
 * add, if any. After `shutDown` no key is handed out; `drain` waits for the keys workers still hold.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics | undefined;

  private queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { due: number; timer: Timer }>();
  private waiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.metrics = opts.metrics;
  }

  /** Keys waiting to be handed out (not counting delayed ones or ones being processed). */
  len(): number {
    return this.queue.length - this.head;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.added();
    this.dirty.add(key);
    this.enqueuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`. If the key is already waiting, the earlier of the two times wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.due <= due) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { due, timer });
  }

  /** Adds `key` after the delay the rate limiter decides (per-key backoff and global bucket). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the backoff of `key`; call after it was processed successfully. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /** The next key to process, or undefined once the queue is shutting down. */
  async get(): Promise<string | undefined> {
    while (this.len() === 0 && !this.shuttingDown) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.shuttingDown) return undefined;
    const key = this.queue[this.head] as string;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const now = this.clock.now();
    const since = this.enqueuedAt.get(key);
    if (since !== undefined) this.metrics?.queued((now - since) / 1000);
    this.enqueuedAt.delete(key);
    this.dirty.delete(key);
    // A delayed add of the key (a requeue after, a retry, a resync's spread) asked for a reconcile
    // that is happening now; this one's result decides when the key comes back.
    const delayed = this.delayed.get(key);
    if (delayed) {
      delayed.timer.cancel();
      this.delayed.delete(key);
    }
    this.processing.set(key, now);
    this.metrics?.depth(this.len());
    return key;
  }

  /** Marks `key` finished; if it was added again meanwhile it goes back in the queue. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.worked((this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Stops handing out keys; waiting `get` calls resolve undefined; delayed adds are dropped. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.wakeAll();
  }

  /** Resolves once no key is being processed. */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Keys currently held by workers. */
  inFlight(): number {
    return this.processing.size;
  }

  private push(key: string): void {
    this.queue.push(key);
    this.metrics?.depth(this.len());
    const waiter = this.waiters.shift();
    waiter?.();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
