import { randomUUID } from 'node:crypto';
import { realClock, sleep, type Clock, type Timer } from './clock.ts';
import type { Informer } from './informer.ts';
import { jsonEqual } from './json.ts';
import { silentLogger, type Logger } from './logging.ts';
import type { Metrics, ReconcileResultLabel } from './metrics.ts';
import type { RateLimiter } from './ratelimiter.ts';
import { keyOf, objectKey, splitKey } from './store.ts';
import { groupOf, type KubeObject } from './types.ts';
import { WorkQueue } from './workqueue.ts';

/**
 * What a reconcile asks of the runtime. A thrown error means "failed, retry with per-key backoff".
 * - done: the object is where it should be; its backoff is reset.
 * - requeue: not finished, nothing failed; come back with backoff.
 * - requeueAfter: come back after `afterMs` (e.g. to poll something slow); backoff is reset.
 * - terminal: no retry can fix this (the reconciler has written a condition saying why); not retried
 *   until the object changes or the periodic resync comes round.
 */
export type ReconcileResult =
  | { kind: 'done' }
  | { kind: 'requeue' }
  | { kind: 'requeueAfter'; afterMs: number }
  | { kind: 'terminal'; reason: string; message: string };

export const done = (): ReconcileResult => ({ kind: 'done' });
export const requeue = (): ReconcileResult => ({ kind: 'requeue' });
export const requeueAfter = (afterMs: number): ReconcileResult => ({ kind: 'requeueAfter', afterMs });
export const terminal = (reason: string, message: string): ReconcileResult => ({
  kind: 'terminal',
  reason,
  message,
});

export interface ReconcileRequest<T> {
  key: string;
  namespace: string | undefined;
  name: string;
  /** The object as cached when the reconcile started; undefined once it is gone from the API server. */
  object: T | undefined;
}

/** Per-reconcile context; the manager adds its services (client, recorder, status writer) to it. */
export interface ReconcileContext {
  controller: string;
  reconcileId: string;
  /** Logger carrying controller, namespace, name and reconcileId. */
  log: Logger;
  /** Aborted when the controller must stop acting (shutdown past its grace period, lost leadership). */
  signal: AbortSignal;
}

export type Reconciler<T, S extends object = object> = (
  req: ReconcileRequest<T>,
  ctx: ReconcileContext & S,
) => Promise<ReconcileResult>;

/** A secondary watch: changes to its objects enqueue the keys `map` returns. */
export interface Watch {
  informer: Informer<KubeObject>;
  map: (obj: KubeObject) => string[];
}

export interface ControllerOptions<T extends KubeObject, S extends object = object> {
  name: string;
  /** Informer of the primary kind; its keys are what gets reconciled. */
  informer: Informer<T>;
  reconcile: Reconciler<T, S>;
  /** Added to every ReconcileContext. */
  services: S;
  watches?: Watch[];
  /** Workers; one key is never reconciled by two at once. Default 1. */
  maxConcurrentReconciles?: number;
  /** Every cached key is enqueued this often (jittered), so drift is found. 0 disables. Default 10 min. */
  resyncPeriodMs?: number;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

/** The object without what changes when only its status is written. */
function withoutStatus(obj: KubeObject): unknown {
  const { status: _status, metadata, ...rest } = obj as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = (metadata ?? {}) as Record<string, unknown>;
  return { ...rest, metadata: meta };
}

/**
 * Whether an update of the primary object needs a reconcile: anything but a status write (the
 * reconciler's own, most of the time) does. Skipping those halves the work after every change;
 * the periodic resync still covers a status someone else rewrote.
 */
export function changedBeyondStatus(old: KubeObject, obj: KubeObject): boolean {
  if (old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return false;
  return !jsonEqual(withoutStatus(old), withoutStatus(obj));
}

/** Maps an owned object to the key of its controlling owner of the given kind (any version of its group). */
export function ownerKeys(owner: { apiVersion: string; kind: string }): (obj: KubeObject) => string[] {
  const group = groupOf(owner.apiVersion);
  return (obj) => {
    const ref = obj.metadata?.ownerReferences?.find(
      (r) => r.controller === true && r.kind === owner.kind && groupOf(r.apiVersion) === group,
    );
    return ref ? [keyOf(obj.metadata?.namespace, ref.name)] : [];
  };
}

/**
 * The reconcile loop: a key work queue fed by informer events and a periodic resync, drained by
 * N workers that call the reconciler and act on its result.
 */
export class Controller<T extends KubeObject, S extends object = object> {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly informer: Informer<T>;
  private readonly reconciler: Reconciler<T, S>;
  private readonly services: S;
  private readonly watches: Watch[];
  private readonly workers: number;
  private readonly resyncPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly abort = new AbortController();
  private resyncTimer: Timer | undefined;
  private workerLoops: Promise<void>[] = [];
  private started = false;
  private stopping = false;

  constructor(opts: ControllerOptions<T, S>) {
    this.name = opts.name;
    this.informer = opts.informer;
    this.reconciler = opts.reconcile;
    this.services = opts.services;
    this.watches = opts.watches ?? [];
    this.workers = Math.max(1, opts.maxConcurrentReconciles ?? 1);
    this.resyncPeriodMs = opts.resyncPeriodMs ?? 600_000;
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
    this.metrics = opts.metrics;
    this.queue = new WorkQueue({
      clock: this.clock,
      ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
      ...(opts.metrics ? { metrics: opts.metrics.workQueue(opts.name) } : {}),
    });
    this.metrics?.maxConcurrentReconciles.set({ controller: this.name }, this.workers);
    this.metrics?.activeWorkers.set({ controller: this.name }, 0);
  }

  /**
   * Hooks the informers up to the queue, waits until they have synced, then starts the workers and
   * the resync timer. Resolves once the workers run (or the controller was stopped first).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const enqueue = (obj: KubeObject): void => this.queue.add(objectKey(obj));
    this.informer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (old, obj) => {
        if (changedBeyondStatus(old, obj)) enqueue(obj);
      },
      onDelete: enqueue,
    });
    for (const w of this.watches) {
      const mapped = (obj: KubeObject): void => {
        for (const key of w.map(obj)) this.queue.add(key);
      };
      w.informer.addEventHandler({
        onAdd: mapped,
        onUpdate: (old, obj) => {
          if (old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
          mapped(old);
          mapped(obj);
        },
        onDelete: mapped,
      });
    }
    const informers = [this.informer, ...this.watches.map((w) => w.informer)];
    const synced = await Promise.all(informers.map((i) => i.waitForSync(this.abort.signal)));
    if (!synced.every(Boolean) || this.stopping) return;
    this.log.info({ workers: this.workers }, 'starting workers');
    for (let i = 0; i < this.workers; i++) this.workerLoops.push(this.worker());
    this.scheduleResync();
  }

  /**
   * Stops handing out work and waits up to `graceMs` for reconciles in flight; past that their
   * signal is aborted. Resolves true if everything in flight finished in time.
   */
  async stop(graceMs = 30_000): Promise<boolean> {
    this.stopping = true;
    this.resyncTimer?.cancel();
    this.queue.shutDown();
    const timeout = new AbortController();
    const drained = await Promise.race([
      this.queue.drain().then(() => true),
      sleep(this.clock, graceMs, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    if (!drained)
      this.log.warn({ inFlight: this.queue.inFlight() }, 'reconciles still running after the grace period');
    this.abort.abort();
    if (drained) await Promise.all(this.workerLoops);
    return drained;
  }

  /** Stops at once: no new work, in-flight reconciles told to abort. For lost leadership. */
  halt(): void {
    this.stopping = true;
    this.resyncTimer?.cancel();
    this.queue.shutDown();
    this.abort.abort();
  }

  /** Enqueues every cached key now; the periodic resync does this on its own. */
  resync(): void {
    const keys = this.informer.store.keys();
    // Spread the keys over a tenth of the period (at most 30 s) so a resync is not a burst.
    const spread = Math.min(this.resyncPeriodMs / 10, 30_000);
    for (const key of keys) this.queue.addAfter(key, Math.floor(Math.random() * spread));
    this.log.debug({ keys: keys.length }, 'resync');
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0 || this.stopping) return;
    const next = this.resyncPeriodMs * (0.9 + Math.random() * 0.2);
    this.resyncTimer = this.clock.setTimer(() => {
      this.resync();
      this.scheduleResync();
    }, next);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const reconcileId = randomUUID();
    const log = this.log.child({ namespace, name, reconcileId });
    const labels = { controller: this.name };
    const started = performance.now();
    let result: ReconcileResultLabel = 'success';
    this.metrics?.activeWorkers.inc(labels);
    try {
      log.debug('reconciling');
      const outcome = await this.reconciler(
        { key, namespace, name, object: this.informer.store.get(key) },
        { ...this.services, controller: this.name, reconcileId, log, signal: this.abort.signal },
      );
      result = this.handle(key, outcome, log);
    } catch (err) {
      result = 'error';
      this.metrics?.reconcileErrors.inc(labels);
      log.error(
        { err, key, retries: this.queue.numRequeues(key) },
        'reconcile failed; retrying with backoff',
      );
      this.queue.addRateLimited(key);
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics?.reconcileTotal.inc({ ...labels, result });
      this.metrics?.reconcileTime.observe(labels, seconds);
      this.metrics?.activeWorkers.dec(labels);
      log.debug({ result, seconds }, 'reconciled');
      this.queue.done(key);
    }
  }

  private handle(key: string, outcome: ReconcileResult, log: Logger): ReconcileResultLabel {
    switch (outcome.kind) {
      case 'done':
        this.queue.forget(key);
        return 'success';
      case 'requeue':
        this.queue.addRateLimited(key);
        return 'requeue';
      case 'requeueAfter':
        if (!Number.isFinite(outcome.afterMs) || outcome.afterMs < 0) {
          throw new Error(`reconciler asked to requeue after ${outcome.afterMs} ms`);
        }
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.afterMs);
        return 'requeue_after';
      case 'terminal':
        this.queue.forget(key);
        this.metrics?.reconcileTerminal.inc({ controller: this.name });
        log.warn(
          { key, reason: outcome.reason, message: outcome.message },
          'reconcile ended in a terminal condition',
        );
        return 'terminal';
    }
  }
}
