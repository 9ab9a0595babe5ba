import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ListWatchInformer, MultiNamespaceInformer, type Informer } from './informer.ts';
import { FakeApiError, FakeListWatcher } from './testing.ts';
import type { KubeObject } from './types.ts';

interface Cm extends KubeObject {
  data?: Record<string, string>;
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};
const cm = (name: string, v = '1', namespace = 'ns'): Cm => ({ metadata: { name, namespace }, data: { v } });

function setup(opts: { healthyWatchMs?: number; maxOutageMs?: number } = {}) {
  const clock = new FakeClock();
  const server = new FakeListWatcher<Cm>();
  const informer = new ListWatchInformer<Cm>('configmaps', server, { clock, ...opts });
  const events: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => events.push(`add ${o.metadata?.name}`),
    onUpdate: (_old, o) => events.push(`update ${o.metadata?.name}=${o.data?.v}`),
    onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
  });
  started.push(informer);
  return { clock, server, informer, events };
}

const started: ListWatchInformer<Cm>[] = [];
afterEach(async () => {
  for (const i of started.splice(0)) {
    i.stop();
    await i.stopped();
  }
});

const values = (i: Informer<Cm>): Record<string, string | undefined> =>
  Object.fromEntries(i.store.list().map((o) => [o.metadata?.name ?? '', o.data?.v]));

describe('ListWatchInformer', () => {
  it('lists, reports synced, then applies watch events from the list resourceVersion', async () => {
    const { server, informer, events } = setup();
    server.create(cm('a'));
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    await flush();
    expect(server.watchCalls).toEqual(['101']);
    server.create(cm('b'));
    server.update(cm('a', '2'));
    server.remove('ns/b');
    await flush();
    expect(events).toEqual(['add a', 'add b', 'update a=2', 'delete b']);
    expect(values(informer)).toEqual({ a: '2' });
    expect(informer.store.get('ns/a')?.metadata?.resourceVersion).toBe('103');
  });

  it('replays cached objects to a handler added after sync', async () => {
    const { server, informer } = setup();
    server.create(cm('a'));
    informer.start();
    await informer.waitForSync();
    const late: string[] = [];
    informer.addEventHandler({ onAdd: (o) => late.push(o.metadata?.name ?? '') });
    expect(late).toEqual(['a']);
  });

  it('relists on a 410 ERROR event and reconciles the cache, deletions made while disconnected included', async () => {
    const { server, informer, events, clock } = setup();
    server.create(cm('a'));
    server.create(cm('b'));
    informer.start();
    await informer.waitForSync();
    await flush();
    server.deliver = false; // the watch silently stops receiving
    server.remove('ns/a');
    server.update(cm('b', '2'));
    server.create(cm('c'));
    server.compact();
    clock.advance(10_000);
    server.sendError(410, 'too old resource version');
    await flush();
    expect(server.listCalls).toHaveLength(2);
    expect(values(informer)).toEqual({ b: '2', c: '1' });
    expect(events.slice(2)).toEqual(['delete a', 'add c', 'update b=2']);
    server.deliver = true;
    server.create(cm('d'));
    await flush();
    expect(values(informer)).toEqual({ b: '2', c: '1', d: '1' });
  });

  it('relists when the watch request itself fails with 410', async () => {
    const { server, informer, clock } = setup();
    informer.start();
    await informer.waitForSync();
    await flush();
    server.goneAtStart = true;
    server.deliver = false;
    server.create(cm('x'));
    server.compact();
    server.endWatches(new FakeApiError(500, 'stream reset'));
    await flush();
    clock.advance(1000); // backoff for the broken stream, then the 410 on restart relists at once
    await flush();
    expect(server.listCalls.length).toBe(2);
    expect(values(informer)).toEqual({ x: '1' });
  });

  it('restarts a failed watch after exponential backoff from the last resourceVersion, never stopping', async () => {
    const { server, informer, clock } = setup();
    server.create(cm('a'));
    informer.start();
    await informer.waitForSync();
    await flush();
    server.failNextWatches(
      new Error('connection refused'),
      new Error('connection refused'),
      new Error('refused'),
    );
    server.endWatches(new Error('ECONNRESET'));
    await flush();
    const attemptsAt: number[] = [];
    const t0 = clock.now();
    let seen = server.watchCalls.length;
    for (let ms = 0; ms < 20_000; ms += 50) {
      clock.advance(50);
      await flush();
      if (server.watchCalls.length > seen) {
        seen = server.watchCalls.length;
        attemptsAt.push(clock.now() - t0);
      }
    }
    // 4 restarts: after ~800, ~1600, ~3200 and ~6400 ms (each with up to 20% jitter taken off).
    expect(attemptsAt).toHaveLength(4);
    const gaps = attemptsAt.map((t, i) => t - (attemptsAt[i - 1] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(600);
    expect(gaps[0]).toBeLessThanOrEqual(850);
    expect(gaps[3]).toBeGreaterThanOrEqual(5100);
    expect(gaps[3]).toBeLessThanOrEqual(6450);
    expect(server.listCalls).toHaveLength(1); // no relist for ordinary errors
    expect(new Set(server.watchCalls)).toEqual(new Set(['101']));
    expect(server.activeWatches()).toBe(1);
    server.create(cm('b'));
    await flush();
    expect(values(informer)).toEqual({ a: '1', b: '1' });
  });

  it('resumes at once after a healthy watch closes cleanly, backs off after an early close', async () => {
    const { server, informer, clock } = setup({ healthyWatchMs: 5000 });
    informer.start();
    await informer.waitForSync();
    await flush();
    server.create(cm('a'));
    await flush();
    server.endWatches(); // delivered an event: healthy, server-side timeout
    await flush();
    expect(server.watchCalls).toEqual(['100', '101']);
    server.endWatches(); // no event and young: an unexpected close
    await flush();
    expect(server.watchCalls).toHaveLength(2);
    clock.advance(800);
    await flush();
    expect(server.watchCalls).toEqual(['100', '101', '101']);
    clock.advance(6000);
    server.endWatches(); // lived long enough: healthy, resume at once
    await flush();
    expect(server.watchCalls).toHaveLength(4);
  });

  it('backs off when a fresh list is followed straight away by 410 again', async () => {
    const { server, informer, clock } = setup();
    informer.start();
    await informer.waitForSync();
    await flush();
    server.deliver = false;
    server.create(cm('a'));
    server.compact();
    server.goneAtStart = true;
    server.endWatches(); // the restarted watch from 100 gets 410 and relists at once
    await flush();
    clock.advance(800);
    await flush();
    expect(server.listCalls).toHaveLength(2);
    server.create(cm('b')); // the list is already stale again
    server.compact();
    server.sendError(410);
    await flush();
    expect(server.listCalls).toHaveLength(2); // waits instead of spinning
    clock.advance(1600); // second failure in a row: the backoff has doubled
    await flush();
    expect(server.listCalls).toHaveLength(3);
    expect(values(informer)).toEqual({ a: '1', b: '1' });
  });

  it('bookmarks move the resourceVersion the next watch starts from', async () => {
    const { server, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await flush();
    server.deliver = false;
    server.create(cm('hidden'));
    server.deliver = true;
    server.sendBookmark();
    server.endWatches();
    await flush();
    expect(server.watchCalls).toEqual(['100', '101']);
  });

  it('keeps retrying the list with backoff until it succeeds', async () => {
    const { server, informer, clock } = setup();
    server.create(cm('a'));
    server.failNextLists(...Array.from({ length: 6 }, () => new FakeApiError(503, 'unavailable')));
    informer.start();
    await flush();
    expect(informer.hasSynced()).toBe(false);
    for (let i = 0; i < 200 && !informer.hasSynced(); i++) {
      clock.advance(1000);
      await flush();
    }
    expect(informer.hasSynced()).toBe(true);
    expect(server.listCalls).toHaveLength(7);
    expect(values(informer)).toEqual({ a: '1' });
  });

  it('reports unhealthy when no watch has run for longer than the allowed outage', async () => {
    const { server, informer, clock } = setup({ maxOutageMs: 60_000 });
    informer.start();
    await informer.waitForSync();
    await flush();
    expect(informer.health().healthy).toBe(true);
    server.failNextWatches(...Array.from({ length: 50 }, () => new FakeApiError(500, 'boom')));
    server.endWatches(new Error('gone away'));
    await flush();
    clock.advance(30_000);
    await flush();
    expect(informer.health().healthy).toBe(true);
    for (let i = 0; i < 10; i++) {
      clock.advance(10_000);
      await flush();
    }
    const h = informer.health();
    expect(h.healthy).toBe(false);
    expect(h.reason).toContain('boom');
  });

  it('a throwing handler does not stop the watch', async () => {
    const { server, informer } = setup();
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.start();
    await informer.waitForSync();
    await flush();
    server.create(cm('a'));
    server.create(cm('b'));
    await flush();
    expect(values(informer)).toEqual({ a: '1', b: '1' });
    expect(server.activeWatches()).toBe(1);
  });

  it('stop aborts the running watch and ends the loop', async () => {
    const { server, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await flush();
    expect(server.activeWatches()).toBe(1);
    informer.stop();
    await informer.stopped();
    expect(server.activeWatches()).toBe(0);
    expect(await informer.waitForSync()).toBe(true);
  });

  it('waitForSync resolves false when stopped or aborted first', async () => {
    const { server, informer } = setup();
    server.failNextLists(new Error('x'));
    informer.start();
    const ac = new AbortController();
    const aborted = informer.waitForSync(ac.signal);
    const stopped = informer.waitForSync();
    ac.abort();
    expect(await aborted).toBe(false);
    informer.stop();
    expect(await stopped).toBe(false);
  });
});

describe('MultiNamespaceInformer', () => {
  it('joins one informer per namespace behind one store', async () => {
    const clock = new FakeClock();
    const a = new FakeListWatcher<Cm>();
    const b = new FakeListWatcher<Cm>();
    a.create(cm('x', '1', 'team-a'));
    b.create(cm('y', '2', 'team-b'));
    const parts = new Map<string, Informer<Cm>>([
      ['team-a', new ListWatchInformer('a', a, { clock })],
      ['team-b', new ListWatchInformer('b', b, { clock })],
    ]);
    const multi = new MultiNamespaceInformer('cms', parts);
    const added: string[] = [];
    multi.addEventHandler({ onAdd: (o) => added.push(o.metadata?.name ?? '') });
    multi.start();
    expect(await multi.waitForSync()).toBe(true);
    expect(multi.hasSynced()).toBe(true);
    expect(added.sort()).toEqual(['x', 'y']);
    expect(multi.store.get('team-b/y')?.data?.v).toBe('2');
    expect(multi.store.get('team-c/y')).toBeUndefined();
    expect(multi.store.keys().sort()).toEqual(['team-a/x', 'team-b/y']);
    expect(multi.store.size()).toBe(2);
    expect(multi.health().healthy).toBe(true);
    multi.stop();
  });
});
