import { realClock, sleep, type Clock } from './clock.ts';
import { silentLogger, type Logger } from './logging.ts';
import { objectKey, Store, type IndexFunc, type ReadonlyStore } from './store.ts';
import type { KubeObject, Status } from './types.ts';

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: KubeObject }
  | { type: 'ERROR'; object: Status };

/** Stops a running watch. Calling it after the watch ended is harmless. */
export type Abort = () => void;

/**
 * The narrow view of the API server an informer needs. `watch` resolves once the watch is
 * established (or rejects when it cannot be); afterwards `onDone` is called exactly once, with an
 * error or without one for a clean close, unless the informer aborted it first.
 */
export interface ListWatcher<T extends KubeObject> {
  list(): Promise<ListResult<T>>;
  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    onDone: (err?: unknown) => void,
  ): Promise<Abort>;
}

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerHealth {
  healthy: boolean;
  reason?: string;
}

/** What controllers, the manager and the health server see of an informer. */
export interface Informer<T extends KubeObject> {
  readonly name: string;
  readonly store: ReadonlyStore<T>;
  /** Registers a handler; objects already cached are replayed to it as adds. */
  addEventHandler(handler: EventHandler<T>): void;
  /** Adds an index to the store, kept up to date on every event (see Store.addIndex). */
  addIndex(name: string, fn: IndexFunc<T>): void;
  start(): void;
  stop(): void;
  /** True once the first list has been stored and handed to the handlers. */
  hasSynced(): boolean;
  /** Resolves true once synced, or false if `signal` aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** Unhealthy when no watch has been running for longer than the allowed outage. */
  health(): InformerHealth;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  clock?: Clock;
  logger?: Logger;
  /** First delay after a failed list or watch; doubles per consecutive failure. Default 800 ms. */
  initialBackoffMs?: number;
  /** Longest delay between attempts. Default 30 s. */
  maxBackoffMs?: number;
  /** A watch that lived this long, or delivered any event, resets the backoff. Default 5 s. */
  healthyWatchMs?: number;
  /** How long the informer may be without a running watch before health() reports it. Default 3 min. */
  maxOutageMs?: number;
  /**
   * What is kept of each object, applied before it is cached or handed to handlers (e.g. only its
   * metadata, where the controllers need no more): memory follows what is used.
   */
  transform?: (obj: T) => T;
}

type WatchOutcome = { kind: 'closed' | 'gone' | 'error' | 'stopped'; healthy: boolean; err?: unknown };

/** True when `err` (a thrown error or a watch ERROR Status) means the resourceVersion is too old. */
export function isGone(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: unknown; code?: unknown };
  return e.statusCode === 410 || e.code === 410;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}

/**
 * Lists, then watches from the list's resourceVersion, keeping a cache of the objects and telling
 * handlers what changed. A 410 (from the watch request or an ERROR event) relists; any other
 * failure, and a watch that closes before it proved healthy, restarts after an exponential
 * backoff. It never stops on its own: only `stop()` ends it.
 */
export class ListWatchInformer<T extends KubeObject> implements Informer<T> {
  readonly name: string;
  private readonly lw: ListWatcher<T>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly healthyWatchMs: number;
  private readonly maxOutageMs: number;
  private readonly transform: ((obj: T) => T) | undefined;

  private readonly cache = new Store<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private synced = false;
  private syncWaiters: ((ok: boolean) => void)[] = [];
  private resourceVersion = '';
  private running = false;
  private stopController = new AbortController();
  private cancelWatch: (() => void) | undefined;
  private watching = false;
  private lastActive: number;
  private lastError = '';
  private loop: Promise<void> | undefined;

  constructor(name: string, lw: ListWatcher<T>, opts: InformerOptions<T> = {}) {
    this.name = name;
    this.lw = lw;
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({ informer: name });
    this.initialBackoffMs = opts.initialBackoffMs ?? 800;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.healthyWatchMs = opts.healthyWatchMs ?? 5_000;
    this.maxOutageMs = opts.maxOutageMs ?? 180_000;
    this.transform = opts.transform;
    this.lastActive = this.clock.now();
  }

  get store(): ReadonlyStore<T> {
    return this.cache;
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.cache.addIndex(name, fn);
  }

  addEventHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) for (const obj of this.cache.list()) this.call(() => handler.onAdd?.(obj));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted || this.stopController.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  health(): InformerHealth {
    if (!this.running || this.watching) return { healthy: true };
    const outage = this.clock.now() - this.lastActive;
    if (outage <= this.maxOutageMs) return { healthy: true };
    return {
      healthy: false,
      reason: `no watch for ${Math.round(outage / 1000)}s${this.lastError ? `: ${this.lastError}` : ''}`,
    };
  }

  start(): void {
    if (this.running) return;
    if (this.stopController.signal.aborted) this.stopController = new AbortController();
    this.running = true;
    this.lastActive = this.clock.now();
    this.loop = this.run().catch((err: unknown) => {
      // run() handles its own errors; reaching here is a bug worth shouting about.
      this.log.fatal({ err }, 'informer loop crashed');
    });
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.stopController.abort();
    this.cancelWatch?.();
    for (const w of this.syncWaiters.splice(0)) w(false);
  }

  /** Resolves when the loop has exited after stop(); for tests and orderly shutdown. */
  async stopped(): Promise<void> {
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    let failures = 0;
    const backoff = async (): Promise<void> => {
      const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** failures);
      failures++;
      // Up to 20% jitter so many informers failing together do not retry in lockstep.
      await sleep(this.clock, base * (0.8 + Math.random() * 0.2), signal);
    };

    while (!signal.aborted) {
      let listed: ListResult<T>;
      try {
        listed = await this.lw.list();
      } catch (err) {
        if (signal.aborted) break;
        this.lastError = describe(err);
        this.log.warn({ err }, 'list failed; retrying after backoff');
        await backoff();
        continue;
      }
      if (signal.aborted) break;
      this.applyList(listed);

      for (let first = true; ; first = false) {
        const outcome = await this.watchOnce();
        if (outcome.healthy) failures = 0;
        if (outcome.kind === 'stopped' || signal.aborted) return;
        if (outcome.kind === 'gone') {
          this.log.info('resourceVersion expired; relisting');
          // A 410 straight after a fresh list would otherwise spin list → watch → 410.
          if (first && !outcome.healthy) await backoff();
          break;
        }
        if (outcome.kind === 'closed' && outcome.healthy) {
          this.log.debug('watch closed; resuming');
          continue;
        }
        this.lastError = outcome.kind === 'error' ? describe(outcome.err) : 'watch closed early';
        this.log.warn(
          { err: outcome.err, resourceVersion: this.resourceVersion },
          'watch ended; restarting after backoff',
        );
        await backoff();
        if (signal.aborted) return;
      }
    }
  }

  private applyList(listed: ListResult<T>): void {
    const transform = this.transform;
    const diff = this.cache.replace(transform ? listed.items.map((o) => transform(o)) : listed.items);
    this.resourceVersion = listed.resourceVersion;
    for (const obj of diff.deleted) this.emit((h) => h.onDelete?.(obj));
    for (const obj of diff.added) this.emit((h) => h.onAdd?.(obj));
    for (const { old, obj } of diff.updated) this.emit((h) => h.onUpdate?.(old, obj));
    this.log.debug(
      { items: listed.items.length, resourceVersion: listed.resourceVersion, deleted: diff.deleted.length },
      'listed',
    );
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    return new Promise((resolve) => {
      const started = this.clock.now();
      let events = 0;
      let settled = false;
      let abort: Abort | undefined;

      const finish = (kind: WatchOutcome['kind'], err?: unknown): void => {
        if (settled) return;
        settled = true;
        if (this.watching) this.lastActive = this.clock.now();
        this.watching = false;
        this.cancelWatch = undefined;
        abort?.();
        const healthy = events > 0 || this.clock.now() - started >= this.healthyWatchMs;
        resolve({ kind, healthy, err });
      };

      const onEvent = (event: WatchEvent<T>): void => {
        if (settled) return;
        if (event.type === 'ERROR') {
          const status = event.object;
          finish(
            isGone(status) ? 'gone' : 'error',
            new Error(status.message ?? `watch error ${status.code}`),
          );
          return;
        }
        events++;
        this.lastActive = this.clock.now();
        const rv = event.object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (event.type !== 'BOOKMARK') this.applyEvent(event.type, event.object);
      };

      this.cancelWatch = () => finish('stopped');
      if (this.stopController.signal.aborted) {
        finish('stopped');
        return;
      }
      this.lw
        .watch(this.resourceVersion, onEvent, (err) =>
          finish(err ? (isGone(err) ? 'gone' : 'error') : 'closed', err),
        )
        .then(
          (a) => {
            abort = a;
            if (settled) a();
            else {
              this.watching = true;
              this.lastActive = this.clock.now();
            }
          },
          (err: unknown) => finish(isGone(err) ? 'gone' : 'error', err),
        );
    });
  }

  private applyEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', received: T): void {
    const obj = this.transform ? this.transform(received) : received;
    if (type === 'DELETED') {
      this.cache.delete(objectKey(obj));
      this.emit((h) => h.onDelete?.(obj));
      return;
    }
    const old = this.cache.set(obj);
    if (old) this.emit((h) => h.onUpdate?.(old, obj));
    else this.emit((h) => h.onAdd?.(obj));
  }

  private emit(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(() => fn(h));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A failing handler must not take the watch down with it.
      this.log.error({ err }, 'event handler threw');
    }
  }
}

/**
 * One informer per namespace behind a single Informer face, for operators restricted to a list of
 * namespaces (a single watch over all namespaces would need cluster-wide permissions).
 */
export class MultiNamespaceInformer<T extends KubeObject> implements Informer<T> {
  readonly name: string;
  readonly store: ReadonlyStore<T>;
  private readonly parts: Map<string, Informer<T>>;

  constructor(name: string, parts: Map<string, Informer<T>>) {
    this.name = name;
    this.parts = parts;
    const all = [...parts.values()];
    this.store = {
      get: (key) => {
        const slash = key.indexOf('/');
        return slash < 0 ? undefined : parts.get(key.slice(0, slash))?.store.get(key);
      },
      list: () => all.flatMap((i) => i.store.list()),
      keys: () => all.flatMap((i) => i.store.keys()),
      size: () => all.reduce((n, i) => n + i.store.size(), 0),
      keysByIndex: (name, value) => all.flatMap((i) => i.store.keysByIndex(name, value)),
    };
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    for (const i of this.parts.values()) i.addIndex(name, fn);
  }

  addEventHandler(handler: EventHandler<T>): void {
    for (const i of this.parts.values()) i.addEventHandler(handler);
  }

  start(): void {
    for (const i of this.parts.values()) i.start();
  }

  stop(): void {
    for (const i of this.parts.values()) i.stop();
  }

  hasSynced(): boolean {
    return [...this.parts.values()].every((i) => i.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.parts.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  health(): InformerHealth {
    for (const [ns, i] of this.parts) {
      const h = i.health();
      if (!h.healthy) return { healthy: false, reason: `namespace ${ns}: ${h.reason ?? 'unhealthy'}` };
    }
    return { healthy: true };
  }
}
