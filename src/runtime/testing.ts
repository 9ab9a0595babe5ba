// Test doubles for code built on the runtime: an in-memory API server for one resource type that
// speaks the ListWatcher interface and can be told to fail in the ways a real one does.

import type { Abort, ListResult, ListWatcher, WatchEvent } from './informer.ts';
import { objectKey } from './store.ts';
import type { KubeObject, Status } from './types.ts';

interface ActiveWatch<T extends KubeObject> {
  onEvent: (e: WatchEvent<T>) => void;
  onDone: (err?: unknown) => void;
}

export class FakeApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

export class FakeListWatcher<T extends KubeObject> implements ListWatcher<T> {
  private rv = 100;
  private readonly objects = new Map<string, T>();
  private history: { rv: number; event: WatchEvent<T> }[] = [];
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private compactedBelow = 0;
  private watches = new Set<ActiveWatch<T>>();
  private listFailures: Error[] = [];
  private watchFailures: Error[] = [];
  /** When false, changes are stored but not sent to running watches (a silent network partition). */
  deliver = true;
  /** When set, a watch from a too-old resourceVersion fails at start instead of with an ERROR event. */
  goneAtStart = false;
  readonly listCalls: number[] = [];
  readonly watchCalls: string[] = [];

  /** Watches currently receiving events. */
  activeWatches(): number {
    return this.watches.size;
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  create(obj: T): T {
    return this.write('ADDED', obj);
  }

  update(obj: T): T {
    return this.write('MODIFIED', obj);
  }

  remove(key: string): void {
    const old = this.objects.get(key);
    if (!old) throw new Error(`no ${key}`);
    this.objects.delete(key);
    this.rv++;
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } } as T;
    this.record({ type: 'DELETED', object: gone });
  }

  /** Drops history so that watches from any earlier resourceVersion get 410. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history = [];
  }

  failNextLists(...errors: Error[]): void {
    this.listFailures.push(...errors);
  }

  failNextWatches(...errors: Error[]): void {
    this.watchFailures.push(...errors);
  }

  /** Ends every running watch with `err`, or cleanly without one. */
  endWatches(err?: unknown): void {
    const ws = [...this.watches];
    this.watches.clear();
    for (const w of ws) w.onDone(err);
  }

  /** Sends a watch ERROR event with `code` to every running watch. */
  sendError(code: number, message = 'error'): void {
    const status: Status = {
      kind: 'Status',
      status: 'Failure',
      code,
      message,
      reason: code === 410 ? 'Expired' : '',
    };
    for (const w of [...this.watches]) w.onEvent({ type: 'ERROR', object: status });
  }

  sendBookmark(): void {
    for (const w of [...this.watches]) {
      w.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  list(): Promise<ListResult<T>> {
    this.listCalls.push(this.rv);
    const failure = this.listFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve({
      items: [...this.objects.values()].map((o) => structuredClone(o)),
      resourceVersion: String(this.rv),
    });
  }

  watch(
    resourceVersion: string,
    onEvent: (e: WatchEvent<T>) => void,
    onDone: (err?: unknown) => void,
  ): Promise<Abort> {
    this.watchCalls.push(resourceVersion);
    const failure = this.watchFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const from = Number(resourceVersion);
    if (from < this.compactedBelow && this.goneAtStart) {
      return Promise.reject(new FakeApiError(410, 'too old resource version'));
    }
    const w: ActiveWatch<T> = { onEvent, onDone };
    this.watches.add(w);
    queueMicrotask(() => {
      if (!this.watches.has(w)) return;
      if (from < this.compactedBelow) {
        onEvent({
          type: 'ERROR',
          object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
        });
        return;
      }
      for (const h of this.history) if (h.rv > from && this.watches.has(w)) onEvent(structuredClone(h.event));
    });
    return Promise.resolve(() => {
      this.watches.delete(w);
    });
  }

  private write(type: 'ADDED' | 'MODIFIED', obj: T): T {
    this.rv++;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } } as T;
    this.objects.set(objectKey(stored), stored);
    this.record({ type, object: stored });
    return stored;
  }

  private record(event: WatchEvent<T>): void {
    this.history.push({ rv: this.rv, event });
    if (!this.deliver) return;
    for (const w of [...this.watches]) w.onEvent(structuredClone(event));
  }
}
