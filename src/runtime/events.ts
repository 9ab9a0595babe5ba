import { realClock, type Clock, type Timer } from './clock.ts';
import { isForbidden, isNotFound, KubeApiError, type KubeClient } from './kube.ts';
import { silentLogger, type Logger } from './logging.ts';
import { EVENTS } from './resources.ts';
import type { KubeObject } from './types.ts';

export type EventType = 'Normal' | 'Warning';

/** Records Kubernetes Events about objects. Never throws and never blocks the caller. */
export interface EventRecorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string, action?: string): void;
}

const MAX_NOTE = 1024;

/** How long a namespace found terminating gets no Events (it is normally gone well before). */
const TERMINATING_NAMESPACE_MS = 300_000;

/** Whether the API server refused a write because its namespace is being deleted. */
export function isNamespaceTerminating(err: unknown): boolean {
  if (!isForbidden(err) || !(err instanceof KubeApiError)) return false;
  const causes = (err.status?.details as { causes?: { reason?: string }[] } | undefined)?.causes ?? [];
  return (
    causes.some((c) => c.reason === 'NamespaceTerminating') ||
    /because it is being terminated/.test(err.message)
  );
}

/** events.k8s.io MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The object an event is about, as events.k8s.io names it. */
interface Regarding {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/**
 * What an event says, as the series remembers it for later writes: the reference alone, not the
 * object, so thousands of remembered series keep no old versions of objects alive.
 */
interface Occurrence {
  regarding: Regarding;
  type: EventType;
  reason: string;
  note: string;
  action: string;
}

interface Series {
  what: Occurrence;
  name: string;
  namespace: string;
  count: number;
  lastObserved: number;
  lastWritten: number;
  flush: Timer | undefined;
}

export interface KubeEventRecorderOptions {
  client: KubeClient;
  /** reportingController, e.g. `pubsub-operator`. */
  controller: string;
  /** reportingInstance: this process (pod name or hostname). */
  instance: string;
  clock?: Clock;
  logger?: Logger;
  /** Repeats of the same event within this window join its series. Default 6 min. */
  seriesWindowMs?: number;
  /** At most one update of a series per key per interval; repeats in between are counted. Default 30 s. */
  minUpdateIntervalMs?: number;
  /** Distinct events allowed per object in a burst, then one per `refillMs`. Default 25 and 5 min. */
  burstPerObject?: number;
  refillMs?: number;
  /** Bound on the series remembered. Default 4096. */
  maxSeries?: number;
}

/**
 * Writes events.k8s.io/v1 Events. Repeats of an event (same object, type, reason, action and
 * message) are folded into the first one's `series` (count, lastObservedTime), written at most
 * once per interval, so a reconcile loop cannot flood the API server; distinct events are rate
 * limited per object on top.
 */
export class KubeEventRecorder implements EventRecorder {
  private readonly client: KubeClient;
  private readonly controller: string;
  private readonly instance: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly seriesWindowMs: number;
  private readonly minUpdateIntervalMs: number;
  private readonly burstPerObject: number;
  private readonly refillMs: number;
  private readonly maxSeries: number;
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Namespaces found terminating, until when their Events are dropped: the API server refuses them. */
  private readonly terminating = new Map<string, number>();
  private pending = new Set<Promise<void>>();

  constructor(opts: KubeEventRecorderOptions) {
    this.client = opts.client;
    this.controller = opts.controller;
    this.instance = opts.instance;
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'events' });
    this.seriesWindowMs = opts.seriesWindowMs ?? 360_000;
    this.minUpdateIntervalMs = opts.minUpdateIntervalMs ?? 30_000;
    this.burstPerObject = opts.burstPerObject ?? 25;
    this.refillMs = opts.refillMs ?? 300_000;
    this.maxSeries = opts.maxSeries ?? 4096;
  }

  event(obj: KubeObject, type: EventType, reason: string, message: string, action = 'Reconcile'): void {
    const meta = obj.metadata ?? {};
    if (!obj.apiVersion || !obj.kind || !meta.name) {
      this.log.warn({ reason }, 'cannot record an event about an object without apiVersion, kind and name');
      return;
    }
    if (this.closed(meta.namespace || 'default')) {
      this.log.debug({ reason, object: meta.name }, 'event dropped: its namespace is being deleted');
      return;
    }
    const note = message.length > MAX_NOTE ? `${message.slice(0, MAX_NOTE - 3)}...` : message;
    const objectId = meta.uid ?? `${meta.namespace ?? ''}/${obj.kind}/${meta.name}`;
    const key = [objectId, type, reason, action, note].join('\u0000');
    const now = this.clock.now();
    const existing = this.series.get(key);
    if (existing && now - existing.lastObserved <= this.seriesWindowMs) {
      existing.count++;
      existing.lastObserved = now;
      // Refresh the LRU position.
      this.series.delete(key);
      this.series.set(key, existing);
      if (!existing.flush) {
        const wait = Math.max(0, existing.lastWritten + this.minUpdateIntervalMs - now);
        existing.flush = this.clock.setTimer(() => this.track(this.writeSeries(key, existing)), wait);
      }
      return;
    }
    if (!this.take(objectId, now)) {
      this.log.debug({ reason, object: meta.name }, 'event dropped: too many events about this object');
      return;
    }
    existing?.flush?.cancel();
    const namespace = meta.namespace || 'default';
    const entry: Series = {
      what: {
        regarding: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: meta.name,
          ...(meta.namespace ? { namespace: meta.namespace } : {}),
          ...(meta.uid ? { uid: meta.uid } : {}),
          ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
        },
        type,
        reason,
        note,
        action,
      },
      name: eventName(meta.name, now),
      namespace,
      count: 1,
      lastObserved: now,
      lastWritten: now,
      flush: undefined,
    };
    this.series.delete(key);
    this.series.set(key, entry);
    this.evict();
    this.track(this.create(entry));
  }

  /** Resolves when every write started so far has finished; pending series updates are written now. */
  async flush(): Promise<void> {
    for (const [key, s] of this.series) {
      if (s.flush) {
        s.flush.cancel();
        this.track(this.writeSeries(key, s));
      }
    }
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Whether the API server refused Events to `namespace` as terminating, recently enough to believe it. */
  private closed(namespace: string): boolean {
    const closedUntil = this.terminating.get(namespace);
    if (closedUntil === undefined) return false;
    if (this.clock.now() < closedUntil) return true;
    this.terminating.delete(namespace);
    return false;
  }

  private take(objectId: string, now: number): boolean {
    const b = this.buckets.get(objectId) ?? { tokens: this.burstPerObject, at: now };
    b.tokens = Math.min(this.burstPerObject, b.tokens + (now - b.at) / this.refillMs);
    b.at = now;
    this.buckets.delete(objectId);
    this.buckets.set(objectId, b);
    while (this.buckets.size > this.maxSeries)
      this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private evict(): void {
    while (this.series.size > this.maxSeries) {
      const oldest = this.series.keys().next().value as string;
      this.series.get(oldest)?.flush?.cancel();
      this.series.delete(oldest);
    }
  }

  private track(write: Promise<void>): void {
    const p = write
      .catch((err: unknown) => this.log.warn({ err }, 'could not write event'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async create(s: Series): Promise<void> {
    const { regarding, type, reason, note, action } = s.what;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: s.name, namespace: s.namespace },
      eventTime: microTime(s.lastWritten),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action,
      reason,
      note,
      type,
      regarding,
      ...(s.count > 1 ? { series: { count: s.count, lastObservedTime: microTime(s.lastObserved) } } : {}),
    };
    try {
      await this.client.create(EVENTS, body);
    } catch (err) {
      if (isNamespaceTerminating(err)) {
        // Expected while a namespace is deleted with its objects: say nothing more to it.
        this.terminating.set(s.namespace, this.clock.now() + TERMINATING_NAMESPACE_MS);
        this.log.debug(
          { namespace: s.namespace, reason },
          'namespace is being deleted: no more events to it',
        );
        return;
      }
      this.log.warn({ err, reason, object: regarding.name }, 'could not record event');
    }
  }

  private async writeSeries(key: string, s: Series): Promise<void> {
    s.flush = undefined;
    // A series update due when its namespace closed would only be refused.
    if (this.closed(s.namespace)) return;
    const gone = await this.patchSeries(s).then(
      () => false,
      (err: unknown) => {
        if (isNotFound(err)) return true;
        if (isNamespaceTerminating(err)) {
          this.terminating.set(s.namespace, this.clock.now() + TERMINATING_NAMESPACE_MS);
          return false;
        }
        this.log.warn({ err, reason: s.what.reason }, 'could not update event series');
        return false;
      },
    );
    if (gone && this.series.get(key) === s) {
      // The event expired or was deleted: start it again, carrying the count.
      s.name = eventName(s.what.regarding.name, this.clock.now());
      await this.create(s);
    }
  }

  private async patchSeries(s: Series): Promise<void> {
    s.lastWritten = this.clock.now();
    await this.client.patch(EVENTS, s.namespace, s.name, 'merge', {
      series: { count: s.count, lastObservedTime: microTime(s.lastObserved) },
    });
  }
}

function eventName(objectName: string, now: number): string {
  const suffix = `${now.toString(16)}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

/** Records nothing; for tests and tools that run without an API server. */
export const noopRecorder: EventRecorder = { event: () => {} };
