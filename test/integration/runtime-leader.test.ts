// Leader election on a real coordination.k8s.io/v1 Lease: one leader among candidates, failover
// once the leader stops renewing, and immediate takeover after a release.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/runtime/kube.ts';
import { kubeLeaseClient, LeaderElector } from '../../src/runtime/leaderelection.ts';
import { NAMESPACES } from '../../src/runtime/resources.ts';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';

const client = new KubeClient(kubeConfig());
const namespace = uniqueName('runtime-leader');
const leases = kubeLeaseClient(client);

const LEASE_MS = 3_000;
const RETRY_MS = 500;

function candidate(name: string, identity: string) {
  const log: string[] = [];
  const elector = new LeaderElector({
    leases,
    namespace,
    name,
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: 2_000,
    retryPeriodMs: RETRY_MS,
    onStartedLeading: () => log.push('started'),
    onStoppedLeading: (reason) => log.push(`stopped:${reason}`),
  });
  return { elector, log };
}

const leaderOf = (...cs: ReturnType<typeof candidate>[]) => cs.filter((c) => c.elector.isLeader());

beforeAll(async () => {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
});

afterAll(async () => {
  await client.delete(NAMESPACES, undefined, namespace);
});

describe('leader election on a real Lease', () => {
  it('elects exactly one of two candidates and fails over within the lease duration', async () => {
    const a = candidate('failover', 'candidate-a');
    const b = candidate('failover', 'candidate-b');
    a.elector.start();
    b.elector.start();
    try {
      const [first] = await eventually(
        () => Promise.resolve(leaderOf(a, b).length === 1 ? leaderOf(a, b) : undefined),
        {
          timeoutMs: 10_000,
          what: 'a leader',
        },
      );
      // Several renew periods later there is still exactly one leader, and the Lease names it.
      await new Promise((resolve) => setTimeout(resolve, 4 * RETRY_MS));
      expect(leaderOf(a, b)).toEqual([first]);
      const lease = await leases.get(namespace, 'failover');
      expect(lease?.spec?.holderIdentity).toBe(first?.elector.identity);
      expect(lease?.spec?.leaseDurationSeconds).toBe(3);

      const other = first === a ? b : a;
      const stoppedAt = Date.now();
      await first?.elector.stop({ release: false }); // stops renewing, as a crashed leader would
      await eventually(() => Promise.resolve(other.elector.isLeader() ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 50,
        what: 'the other candidate to take over',
      });
      const tookMs = Date.now() - stoppedAt;
      // It waits for the lease to expire (counted from its last observed renewal) and no longer.
      expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100);
      expect(tookMs).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS * 2.2 + 500);
      expect((await leases.get(namespace, 'failover'))?.spec).toMatchObject({
        holderIdentity: other.elector.identity,
        leaseTransitions: 1,
      });
      expect(first?.log).toEqual(['started', 'stopped:stopped']);
    } finally {
      await a.elector.stop({ release: false });
      await b.elector.stop({ release: false });
    }
  });

  it('hands over at once after a release', async () => {
    const a = candidate('handover', 'candidate-a');
    a.elector.start();
    await eventually(() => Promise.resolve(a.elector.isLeader() ? true : undefined), {
      timeoutMs: 10_000,
      what: 'a to lead',
    });
    const b = candidate('handover', 'candidate-b');
    b.elector.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3 * RETRY_MS));
      expect(b.elector.isLeader()).toBe(false);
      const releasedAt = Date.now();
      await a.elector.stop(); // releases
      expect(a.log).toEqual(['started', 'stopped:released']);
      await eventually(() => Promise.resolve(b.elector.isLeader() ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'b to take over',
      });
      // Far sooner than the 3 s lease: the next retry (at most 2.2 retry periods) finds it free.
      expect(Date.now() - releasedAt).toBeLessThan(RETRY_MS * 2.2 + 500);
    } finally {
      await b.elector.stop();
    }
    expect((await leases.get(namespace, 'handover'))?.spec?.holderIdentity).toBeUndefined();
  });
});
