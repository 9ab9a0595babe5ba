import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ExponentialBackoffRateLimiter, MaxOfRateLimiter, TokenBucketRateLimiter } from './ratelimiter.ts';
import { WorkQueue, type WorkQueueMetrics } from './workqueue.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recordingMetrics(): WorkQueueMetrics & { adds: number; retries: number; depths: number[] } {
  const m = {
    adds: 0,
    retries: 0,
    depths: [] as number[],
    added: () => void m.adds++,
    retried: () => void m.retries++,
    depth: (n: number) => void m.depths.push(n),
    queued: () => {},
    worked: () => {},
  };
  return m;
}

describe('WorkQueue', () => {
  it('deduplicates keys that are waiting', async () => {
    const metrics = recordingMetrics();
    const q = new WorkQueue({ clock: new FakeClock(), metrics });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(metrics.adds).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.len()).toBe(0);
  });

  it('re-adds while processing mark the key dirty and hand it out again only after done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('k');
    const key = await q.get();
    expect(key).toBe('k');
    q.add('k');
    q.add('k');
    expect(q.len()).toBe(0); // not handed to a second worker while the first holds it
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await tick();
    expect(second).toBeUndefined();
    q.done('k');
    await tick();
    expect(second).toBe('k');
    q.done('k');
    expect(q.len()).toBe(0);
  });

  it('drops the delayed add of a key it hands out: the reconcile that runs now decides when it comes back', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('k', 30_000); // e.g. a wait for a topic, or a resync spread over the sweep
    q.add('k'); // the event it waited for
    expect(await q.get()).toBe('k');
    q.done('k');
    clock.advance(30_000);
    expect(q.len()).toBe(0);
    // A delayed add made while the key is held still comes.
    q.add('k');
    expect(await q.get()).toBe('k');
    q.addAfter('k', 1_000);
    q.done('k');
    clock.advance(1_000);
    expect(q.len()).toBe(1);
  });

  it('a blocked get wakes on add', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  it('addAfter delays, keeps the earliest time for the same key, and dedupes on arrival', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('k', 1000);
    q.addAfter('k', 5000);
    q.addAfter('k', 300);
    clock.advance(299);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(10_000);
    expect(q.len()).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
    q.addAfter('now', 0);
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('k');
  });

  it('addRateLimited backs off exponentially per key and forget resets it', async () => {
    const clock = new FakeClock();
    const metrics = recordingMetrics();
    const q = new WorkQueue({ clock, metrics, rateLimiter: new ExponentialBackoffRateLimiter(5, 1000) });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      q.addRateLimited('k');
      while (q.len() === 0) clock.advance(1);
      delays.push(clock.now() - start);
      expect(await q.get()).toBe('k');
      q.done('k');
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('k')).toBe(4);
    expect(metrics.retries).toBe(4);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    q.addRateLimited('k');
    clock.advance(4);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('the global token bucket spaces out retries of many different keys', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({
      clock,
      rateLimiter: new MaxOfRateLimiter(
        new ExponentialBackoffRateLimiter(5, 1000),
        new TokenBucketRateLimiter(clock, 10, 2),
      ),
    });
    for (const k of ['a', 'b', 'c', 'd']) q.addRateLimited(k);
    clock.advance(5);
    expect(q.len()).toBe(2);
    clock.advance(95);
    expect(q.len()).toBe(3);
    clock.advance(100);
    expect(q.len()).toBe(4);
  });

  it('shutDown hands out no new work, wakes waiters and drain waits for in-flight keys', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add('a');
    q.add('b');
    q.addAfter('later', 1000);
    expect(await q.get()).toBe('a');
    const idle = new WorkQueue({ clock });
    const blocked = idle.get();
    idle.shutDown();
    expect(await blocked).toBeUndefined();

    q.shutDown();
    expect(await q.get()).toBeUndefined();
    q.add('c');
    clock.advance(2000);
    expect(q.len()).toBe(1); // 'b' stays, nothing new arrives
    let drained = false;
    void q.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    q.add('a'); // ignored after shutdown: done must not requeue it
    q.done('a');
    await tick();
    expect(drained).toBe(true);
    expect(q.inFlight()).toBe(0);
    await q.drain();
  });
});
