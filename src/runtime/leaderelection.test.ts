import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { KubeApiError } from './kube.ts';
import { LeaderElector, type Lease, type LeaseClient, type StopReason } from './leaderelection.ts';
import { Metrics } from './metrics.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** An in-memory Lease with resourceVersion checks, like the API server's. */
class MemoryLeases implements LeaseClient {
  lease: Lease | undefined;
  private rv = 0;
  failing = false;
  hanging = false;

  get(): Promise<Lease | undefined> {
    if (this.hanging) return new Promise(() => {});
    if (this.failing) return Promise.reject(new Error('apiserver unreachable'));
    return Promise.resolve(this.lease && structuredClone(this.lease));
  }
  create(lease: Lease): Promise<Lease> {
    if (this.failing) return Promise.reject(new Error('apiserver unreachable'));
    if (this.lease) return Promise.reject(new KubeApiError(409, 'exists'));
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return Promise.resolve(structuredClone(this.lease));
  }
  replace(lease: Lease): Promise<Lease> {
    if (this.failing) return Promise.reject(new Error('apiserver unreachable'));
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
      return Promise.reject(new KubeApiError(409, 'conflict'));
    }
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return Promise.resolve(structuredClone(this.lease));
  }
}

const electors: LeaderElector[] = [];
afterEach(async () => {
  for (const e of electors.splice(0)) await e.stop({ release: false });
});

function candidate(leases: LeaseClient, clock: FakeClock, identity: string, metrics?: Metrics) {
  const events: string[] = [];
  const e = new LeaderElector({
    leases,
    clock,
    namespace: 'ops',
    name: 'pubsub-operator',
    identity,
    ...(metrics ? { metrics } : {}),
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: (r: StopReason) => events.push(`stopped:${r}`),
  });
  electors.push(e);
  return { e, events };
}

async function run(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await flush();
  }
}

/** Candidates a and b on one Lease, a started first so it leads, then 5 s of running. */
async function twoCandidates() {
  const clock = new FakeClock();
  const leases = new MemoryLeases();
  const a = candidate(leases, clock, 'a');
  const b = candidate(leases, clock, 'b');
  a.e.start();
  await flush();
  b.e.start();
  await run(clock, 5_000);
  return { clock, leases, a, b };
}

describe('LeaderElector', () => {
  it('one of two candidates leads; the lease records it', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const metrics = new Metrics();
    const a = candidate(leases, clock, 'a', metrics);
    const b = candidate(leases, clock, 'b');
    a.e.start();
    await flush();
    b.e.start();
    await run(clock, 20_000);
    expect(a.e.isLeader()).toBe(true);
    expect(b.e.isLeader()).toBe(false);
    expect(a.events).toEqual(['started']);
    expect(leases.lease?.spec).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    expect((await metrics.leaderStatus.get()).values[0]?.value).toBe(1);
  });

  it('fails over once the leader stops renewing, not before the lease duration', async () => {
    const { clock, leases, a, b } = await twoCandidates();
    await a.e.stop({ release: false }); // as if the process died
    const lastRenew = Date.parse(leases.lease?.spec?.renewTime ?? '');
    let tookOverAt = 0;
    for (let t = 0; t < 30_000 && !tookOverAt; t += 100) {
      await run(clock, 100);
      if (b.e.isLeader()) tookOverAt = clock.now();
    }
    const after = tookOverAt - lastRenew;
    expect(after).toBeGreaterThanOrEqual(15_000);
    expect(after).toBeLessThanOrEqual(15_000 + 2 * 2_000 * 2.2);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a released lease is taken at the next retry', async () => {
    const { clock, leases, a, b } = await twoCandidates();
    await a.e.stop();
    expect(a.events).toEqual(['started', 'stopped:released']);
    expect(leases.lease?.spec?.holderIdentity).toBeUndefined();
    const releasedAt = clock.now();
    while (!b.e.isLeader() && clock.now() - releasedAt < 20_000) await run(clock, 100);
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(2_000 * 2.2 + 100);
  });

  it('steps down when it cannot renew within the deadline', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const a = candidate(leases, clock, 'a');
    a.e.start();
    await run(clock, 3_000);
    expect(a.e.isLeader()).toBe(true);
    leases.failing = true;
    await run(clock, 9_000);
    expect(a.e.isLeader()).toBe(true);
    await run(clock, 3_000);
    expect(a.e.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped:lost']);
  });

  it('steps down on time even when renew requests hang', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const a = candidate(leases, clock, 'a');
    a.e.start();
    await run(clock, 3_000);
    leases.hanging = true;
    await run(clock, 9_000);
    expect(a.e.isLeader()).toBe(true);
    await run(clock, 3_000);
    expect(a.events).toEqual(['started', 'stopped:lost']);
  });

  it('steps down at once when another candidate holds the lease', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const a = candidate(leases, clock, 'a');
    a.e.start();
    await run(clock, 1_000);
    if (leases.lease?.spec)
      leases.lease = { ...leases.lease, spec: { ...leases.lease.spec, holderIdentity: 'intruder' } };
    await run(clock, 2_500);
    expect(a.events).toEqual(['started', 'stopped:lost']);
  });

  it('rejects timings that cannot work', () => {
    expect(
      () =>
        new LeaderElector({
          leases: new MemoryLeases(),
          namespace: 'n',
          name: 'l',
          leaseDurationMs: 5_000,
          renewDeadlineMs: 5_000,
        }),
    ).toThrow(/leaseDuration/);
  });
});
