import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import {
  changedBeyondStatus,
  Controller,
  done,
  ownerKeys,
  requeue,
  requeueAfter,
  terminal,
  type ReconcileContext,
  type ReconcileResult,
} from './controller.ts';
import { ListWatchInformer } from './informer.ts';
import { createLogger } from './logging.ts';
import { Metrics } from './metrics.ts';
import { ExponentialBackoffRateLimiter } from './ratelimiter.ts';
import { FakeListWatcher } from './testing.ts';
import type { KubeObject } from './types.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise((resolve) => setImmediate(resolve));
};
const obj = (name: string, namespace = 'ns', extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...extra },
});

interface Call {
  key: string;
  ctx: ReconcileContext & { tag: string };
  exists: boolean;
}

function setup(
  reconcile: (key: string, n: number) => ReconcileResult | Promise<ReconcileResult>,
  opts: { workers?: number; resyncPeriodMs?: number } = {},
) {
  const clock = new FakeClock();
  const server = new FakeListWatcher<KubeObject>();
  const informer = new ListWatchInformer('cms', server, { clock });
  const metrics = new Metrics();
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  const calls: Call[] = [];
  const counts = new Map<string, number>();
  const controller = new Controller({
    name: 'widgets',
    informer,
    services: { tag: 'svc' },
    clock,
    logger,
    metrics,
    rateLimiter: new ExponentialBackoffRateLimiter(5, 1000),
    maxConcurrentReconciles: opts.workers ?? 1,
    resyncPeriodMs: opts.resyncPeriodMs ?? 0,
    reconcile: async (req, ctx) => {
      const n = (counts.get(req.key) ?? 0) + 1;
      counts.set(req.key, n);
      calls.push({ key: req.key, ctx, exists: req.object !== undefined });
      return reconcile(req.key, n);
    },
  });
  running.push({ controller, informer });
  const start = async (): Promise<void> => {
    informer.start();
    await controller.start();
    await flush();
  };
  const count = (result: string): Promise<number> =>
    metrics.reconcileTotal.get().then((m) => m.values.find((v) => v.labels['result'] === result)?.value ?? 0);
  return { clock, server, informer, metrics, controller, calls, counts, lines, start, count };
}

const running: {
  controller: Controller<KubeObject, { tag: string }>;
  informer: ListWatchInformer<KubeObject>;
}[] = [];
afterEach(async () => {
  for (const { controller, informer } of running.splice(0)) {
    controller.halt();
    informer.stop();
    await informer.stopped();
  }
});

describe('Controller', () => {
  it('reconciles every key once after sync and forgets backoff on done', async () => {
    const t = setup(() => done());
    t.server.create(obj('a'));
    t.server.create(obj('b'));
    await t.start();
    expect(t.calls.map((c) => c.key).sort()).toEqual(['ns/a', 'ns/b']);
    expect(t.calls[0]?.exists).toBe(true);
    expect(await t.count('success')).toBe(2);
    expect(t.controller.queue.numRequeues('ns/a')).toBe(0);
    t.server.update(obj('a', 'ns', { labels: { x: 'y' } }));
    await flush();
    expect(t.calls.map((c) => c.key).filter((k) => k === 'ns/a')).toHaveLength(2);
    t.server.remove('ns/a');
    await flush();
    expect(t.calls.at(-1)).toMatchObject({ key: 'ns/a', exists: false });
  });

  it('retries a thrown error with growing backoff, logs it with the key, and counts it', async () => {
    const t = setup((_key, n) => {
      if (n <= 3) throw new Error(`boom ${n}`);
      return done();
    });
    t.server.create(obj('a'));
    await t.start();
    expect(t.calls).toHaveLength(1);
    const times: number[] = [];
    const t0 = t.clock.now();
    for (let i = 0; i < 100 && t.calls.length < 4; i++) {
      const before = t.calls.length;
      t.clock.advance(1);
      await flush();
      if (t.calls.length > before) times.push(t.clock.now() - t0);
    }
    expect(times).toEqual([5, 15, 35]);
    expect(await t.count('error')).toBe(3);
    expect(await t.count('success')).toBe(1);
    const errs = await t.metrics.reconcileErrors.get();
    expect(errs.values[0]?.value).toBe(3);
    const errorLine = t.lines.find((l) => l['msg'] === 'reconcile failed; retrying with backoff');
    expect(errorLine).toMatchObject({
      level: 'error',
      key: 'ns/a',
      controller: 'widgets',
      namespace: 'ns',
      name: 'a',
    });
    expect(t.controller.queue.numRequeues('ns/a')).toBe(0);
  });

  it('requeueAfter comes back after the delay and not before', async () => {
    const t = setup((_key, n) => (n === 1 ? requeueAfter(60_000) : done()));
    t.server.create(obj('a'));
    await t.start();
    t.clock.advance(59_999);
    await flush();
    expect(t.calls).toHaveLength(1);
    t.clock.advance(1);
    await flush();
    expect(t.calls).toHaveLength(2);
    expect(await t.count('requeue_after')).toBe(1);
  });

  it('requeue retries with backoff without counting an error', async () => {
    const t = setup((_key, n) => (n === 1 ? requeue() : done()));
    t.server.create(obj('a'));
    await t.start();
    t.clock.advance(5);
    await flush();
    expect(t.calls).toHaveLength(2);
    expect(await t.count('requeue')).toBe(1);
    expect((await t.metrics.reconcileErrors.get()).values).toHaveLength(0);
  });

  it('a terminal result is logged, counted and not retried', async () => {
    const t = setup(() => terminal('NameTaken', 'a queue with this name belongs to someone else'));
    t.server.create(obj('a'));
    await t.start();
    t.clock.advance(3_600_000);
    await flush();
    expect(t.calls).toHaveLength(1);
    expect(await t.count('terminal')).toBe(1);
    expect((await t.metrics.reconcileTerminal.get()).values[0]?.value).toBe(1);
    expect(t.lines.find((l) => l['level'] === 'warn')).toMatchObject({ reason: 'NameTaken', key: 'ns/a' });
    expect(t.controller.queue.numRequeues('ns/a')).toBe(0);
  });

  it('an invalid requeueAfter is treated as an error', async () => {
    const t = setup((_key, n) => (n === 1 ? requeueAfter(-1) : done()));
    t.server.create(obj('a'));
    await t.start();
    expect(await t.count('error')).toBe(1);
    t.clock.advance(5);
    await flush();
    expect(t.calls).toHaveLength(2);
  });

  it('never runs two reconciles of one key at once, yet sees changes made meanwhile', async () => {
    let release: (() => void) | undefined;
    let inFlight = 0;
    let maxInFlight = 0;
    const t = setup(
      async (key) => {
        if (key !== 'ns/a') return done();
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => (release = resolve));
        inFlight--;
        return done();
      },
      { workers: 4 },
    );
    t.server.create(obj('a'));
    await t.start();
    t.server.update(obj('a', 'ns', { labels: { v: '2' } }));
    t.server.update(obj('a', 'ns', { labels: { v: '3' } }));
    t.server.create(obj('b'));
    await flush();
    expect(t.calls.map((c) => c.key)).toEqual(['ns/a', 'ns/b']); // b is not blocked by a
    release?.();
    await flush();
    expect(t.calls.map((c) => c.key)).toEqual(['ns/a', 'ns/b', 'ns/a']); // both updates folded into one
    release?.();
    await flush();
    expect(maxInFlight).toBe(1);
    expect(t.calls).toHaveLength(3);
    expect((await t.metrics.maxConcurrentReconciles.get()).values[0]?.value).toBe(4);
  });

  it('gives each reconcile its own id and a logger with controller, namespace and name', async () => {
    const t = setup((_key, n) => (n === 1 ? requeueAfter(10) : done()));
    t.server.create(obj('a', 'shop'));
    await t.start();
    t.clock.advance(10);
    await flush();
    const [first, second] = t.calls;
    expect(first?.ctx.reconcileId).not.toBe(second?.ctx.reconcileId);
    expect(first?.ctx.tag).toBe('svc');
    expect(first?.ctx.controller).toBe('widgets');
    first?.ctx.log.info('hello');
    expect(t.lines.find((l) => l['msg'] === 'hello')).toMatchObject({
      controller: 'widgets',
      namespace: 'shop',
      name: 'a',
      reconcileId: first?.ctx.reconcileId,
    });
  });

  it('periodic resync enqueues every cached key', async () => {
    const t = setup(() => done(), { resyncPeriodMs: 60_000 });
    t.server.create(obj('a'));
    t.server.create(obj('b'));
    await t.start();
    expect(t.calls).toHaveLength(2);
    t.clock.advance(66_000 + 6_000); // period + 10% jitter + the spread of the keys
    await flush();
    expect(t.calls.map((c) => c.key).sort()).toEqual(['ns/a', 'ns/a', 'ns/b', 'ns/b']);
    t.clock.advance(72_000);
    await flush();
    expect(t.calls).toHaveLength(6);
  });

  it('stop waits for the reconcile in flight and hands out nothing new', async () => {
    let release: (() => void) | undefined;
    const t = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return done();
    });
    t.server.create(obj('a'));
    t.server.create(obj('b'));
    await t.start();
    expect(t.calls).toHaveLength(1);
    let stopped: boolean | undefined;
    void t.controller.stop(10_000).then((ok) => (stopped = ok));
    await flush();
    expect(stopped).toBeUndefined();
    release?.();
    await flush();
    expect(stopped).toBe(true);
    expect(t.calls).toHaveLength(1);
  });

  it('stop aborts the reconcile signal once the grace period is over', async () => {
    const t = setup(() => new Promise<ReconcileResult>(() => {}));
    t.server.create(obj('a'));
    await t.start();
    const signal = t.calls[0]?.ctx.signal;
    let stopped: boolean | undefined;
    void t.controller.stop(5_000).then((ok) => (stopped = ok));
    await flush();
    expect(signal?.aborted).toBe(false);
    t.clock.advance(5_000);
    await flush();
    expect(stopped).toBe(false);
    expect(signal?.aborted).toBe(true);
  });
});

describe('secondary watches', () => {
  it('ownerKeys maps owned objects to their controlling owner of the right kind', () => {
    const map = ownerKeys({ apiVersion: 'pubsub.ecommerce.io/v1alpha1', kind: 'EcommerceService' });
    const owned = (refs: NonNullable<KubeObject['metadata']>['ownerReferences']): KubeObject => ({
      metadata: { name: 'x', namespace: 'shop', ownerReferences: refs },
    });
    const ref = {
      apiVersion: 'pubsub.ecommerce.io/v1beta1',
      kind: 'EcommerceService',
      name: 'orders',
      uid: 'u',
    };
    expect(map(owned([{ ...ref, controller: true }]))).toEqual(['shop/orders']);
    expect(map(owned([ref]))).toEqual([]);
    expect(map(owned([{ ...ref, controller: true, apiVersion: 'other.io/v1' }]))).toEqual([]);
    expect(map(owned([{ ...ref, controller: true, kind: 'EventTopic' }]))).toEqual([]);
    expect(map(owned(undefined))).toEqual([]);
  });

  it('changes to watched objects enqueue the mapped keys', async () => {
    const clock = new FakeClock();
    const primary = new FakeListWatcher<KubeObject>();
    const owned = new FakeListWatcher<KubeObject>();
    const primaryInformer = new ListWatchInformer('owners', primary, { clock });
    const ownedInformer = new ListWatchInformer('owned', owned, { clock });
    const seen: string[] = [];
    const controller = new Controller({
      name: 'owners',
      informer: primaryInformer,
      services: {},
      clock,
      resyncPeriodMs: 0,
      watches: [{ informer: ownedInformer, map: ownerKeys({ apiVersion: 'example.io/v1', kind: 'Owner' }) }],
      reconcile: (req) => {
        seen.push(req.key);
        return Promise.resolve(done());
      },
    });
    primary.create(obj('o1'));
    primaryInformer.start();
    ownedInformer.start();
    await controller.start();
    await flush();
    expect(seen).toEqual(['ns/o1']);
    owned.create(
      obj('child', 'ns', {
        ownerReferences: [
          { apiVersion: 'example.io/v1', kind: 'Owner', name: 'o1', uid: 'u', controller: true },
        ],
      }),
    );
    await flush();
    expect(seen).toEqual(['ns/o1', 'ns/o1']);
    owned.remove('ns/child');
    await flush();
    expect(seen).toEqual(['ns/o1', 'ns/o1', 'ns/o1']);
    controller.halt();
    primaryInformer.stop();
    ownedInformer.stop();
  });
});

describe('changedBeyondStatus', () => {
  const base = {
    apiVersion: 'v1',
    kind: 'Widget',
    metadata: { name: 'w', resourceVersion: '1', generation: 1, annotations: { a: '1' } },
    spec: { size: 1 },
    status: { ready: false },
  };
  const next = (patch: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
    ...base,
    ...patch,
    metadata: { ...base.metadata, resourceVersion: '2', ...meta },
  });

  it.each([
    ['a status write', next({ status: { ready: true } }), false],
    [
      'a status write with new managed fields',
      next({ status: { ready: true } }, { managedFields: [{ manager: 'x' }] }),
      false,
    ],
    ['the same resourceVersion', { ...base, spec: { size: 2 } }, false],
    ['a spec change', next({ spec: { size: 2 } }, { generation: 2 }), true],
    ['an annotation change', next({}, { annotations: { a: '2' } }), true],
    ['a deletion starting', next({}, { deletionTimestamp: '2026-01-01T00:00:00Z' }), true],
    ['a finalizer removed', next({}, { finalizers: [] }), true],
  ])('%s → %s', (_case, updated, expected) => {
    expect(changedBeyondStatus(base, updated)).toBe(expected);
  });
});
