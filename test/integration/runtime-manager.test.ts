// The Manager end to end on the real apiserver: a small ConfigMap "mirror" controller that owns a
// copy of every source ConfigMap, behind leader election, with health and metrics endpoints and a
// graceful stop that waits for the reconcile in flight and releases the Lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { done } from '../../src/runtime/controller.ts';
import { KubeClient } from '../../src/runtime/kube.ts';
import { kubeLeaseClient } from '../../src/runtime/leaderelection.ts';
import { createLogger } from '../../src/runtime/logging.ts';
import { Manager } from '../../src/runtime/manager.ts';
import type { KubeObject } from '../../src/runtime/types.ts';
import { CONFIGMAPS, NAMESPACES } from '../../src/runtime/resources.ts';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const client = new KubeClient(kubeConfig());
const namespace = uniqueName('runtime-manager');
const logger = createLogger({ level: process.env['RUNTIME_TEST_LOG'] ?? 'silent' });

const source = (name: string, data: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: { role: 'source' } },
  data,
});

interface Harness {
  manager: Manager;
  exits: number[];
  reconciled: string[];
  gate: { slow: boolean; holdName?: string; release?: () => void; entered?: () => void };
}

function mirrorManager(leaseName: string): Harness {
  const exits: number[] = [];
  const reconciled: string[] = [];
  const gate: Harness['gate'] = { slow: false };
  const manager = new Manager({
    client,
    logger,
    namespaces: [namespace],
    healthPort: 0,
    healthHost: '127.0.0.1',
    leaderElection: {
      namespace,
      name: leaseName,
      leaseDurationSeconds: 3,
      renewDeadlineSeconds: 2,
      retryPeriodSeconds: 1,
    },
    shutdownTimeoutMs: 20_000,
    exit: (code) => exits.push(code),
  });
  manager.addController<ConfigMap>({
    name: 'mirror',
    for: CONFIGMAPS,
    owns: [CONFIGMAPS],
    resyncPeriodMs: 0,
    reconcile: async (req, ctx) => {
      const cm = req.object;
      if (!cm || cm.metadata?.labels?.['role'] !== 'source' || cm.metadata.deletionTimestamp) return done();
      reconciled.push(req.key);
      // Only the object the test stops on is held: a late reconcile of another key (the copy of
      // alpha being recreated re-enqueues alpha) must not take its place.
      if (gate.slow && req.name === gate.holdName) {
        gate.entered?.();
        await new Promise<void>((resolve) => (gate.release = resolve));
      }
      await ctx.applyOwned(cm, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${req.name}-copy`, namespace: req.namespace, labels: { role: 'copy' } },
        data: cm.data ?? {},
      });
      ctx.recorder.event(cm, 'Normal', 'Mirrored', `copied to ${req.name}-copy`);
      return done();
    },
  });
  return { manager, exits, reconciled, gate };
}

const copyOf = async (name: string) => client.get<ConfigMap>(CONFIGMAPS, namespace, `${name}-copy`);

beforeAll(async () => {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
});

afterAll(async () => {
  await client.delete(NAMESPACES, undefined, namespace);
});

describe('Manager', () => {
  it('reconciles while leading, serves health and metrics, repairs owned objects, and stops gracefully', async () => {
    await client.create(CONFIGMAPS, source('alpha', { k: '1' }));
    const h = mirrorManager('mirror-graceful');
    const run = h.manager.run();
    try {
      await eventually(async () => ((await copyOf('alpha'))?.data?.['k'] === '1' ? true : undefined), {
        timeoutMs: 20_000,
        what: 'the copy of alpha',
      });
      const url = `http://127.0.0.1:${h.manager.port}`;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(
        /controller_runtime_reconcile_total\{controller="mirror",result="success"\} [1-9]/,
      );
      expect(metrics).toContain('leader_election_master_status{name="mirror-graceful"} 1');
      expect(metrics).toContain('workqueue_adds_total{name="mirror"}');

      // An update to the source flows through; deleting the owned copy gets it recreated.
      await client.patch(CONFIGMAPS, namespace, 'alpha', 'merge', { data: { k: '2' } });
      await eventually(async () => ((await copyOf('alpha'))?.data?.['k'] === '2' ? true : undefined), {
        timeoutMs: 20_000,
        what: 'the copy to follow the update',
      });
      await client.delete(CONFIGMAPS, namespace, 'alpha-copy');
      await eventually(async () => ((await copyOf('alpha')) ? true : undefined), {
        timeoutMs: 20_000,
        what: 'the deleted copy to be recreated',
      });

      // Stop while a reconcile is in flight: it must be allowed to finish before the Lease goes.
      h.gate.slow = true;
      h.gate.holdName = 'beta';
      const entered = new Promise<void>((resolve) => (h.gate.entered = resolve));
      await client.create(CONFIGMAPS, source('beta', { k: 'b' }));
      await entered;
      const stopping = h.manager.stop('test');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await kubeLeaseClient(client).get(namespace, 'mirror-graceful'))?.spec?.holderIdentity).toBe(
        h.manager.identity,
      );
      h.gate.release?.();
      expect(await stopping).toBe(0);
      await run;
      expect(h.exits).toEqual([0]);
      expect((await copyOf('beta'))?.data).toEqual({ k: 'b' });
      expect(
        (await kubeLeaseClient(client).get(namespace, 'mirror-graceful'))?.spec?.holderIdentity,
      ).toBeUndefined();
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      h.gate.release?.();
      await h.manager.stop();
    }
  });

  it('a standby reconciles nothing; it takes over after the leader stops, and a leader that loses its Lease exits 1', async () => {
    await client.create(CONFIGMAPS, source('gamma', { k: 'g' }));
    const first = mirrorManager('mirror-failover');
    const second = mirrorManager('mirror-failover');
    const runFirst = first.manager.run();
    await eventually(() => Promise.resolve(first.manager.isLeader() ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the first manager to lead',
    });
    const runSecond = second.manager.run();
    try {
      await eventually(async () => ((await copyOf('gamma')) ? true : undefined), {
        timeoutMs: 20_000,
        what: 'gamma-copy',
      });
      const standbyUrl = `http://127.0.0.1:${await eventually(() => Promise.resolve(second.manager.port))}`;
      await eventually(
        async () => ((await fetch(`${standbyUrl}/readyz`)).status === 200 ? true : undefined),
        {
          timeoutMs: 10_000,
          what: 'the standby to be ready (warm caches)',
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(second.reconciled).toEqual([]);
      expect(second.manager.isLeader()).toBe(false);

      // Graceful stop of the leader releases the Lease: the standby takes over at once.
      await first.manager.stop();
      await runFirst;
      await eventually(() => Promise.resolve(second.manager.isLeader() ? true : undefined), {
        timeoutMs: 5_000,
        what: 'the standby to take over',
      });
      await client.create(CONFIGMAPS, source('delta', { k: 'd' }));
      await eventually(async () => ((await copyOf('delta')) ? true : undefined), {
        timeoutMs: 20_000,
        what: 'delta-copy',
      });
      expect(second.reconciled).toContain(`${namespace}/delta`);

      // Someone else seizes the Lease: the leader stops acting and exits 1.
      const leases = kubeLeaseClient(client);
      const lease = await leases.get(namespace, 'mirror-failover');
      if (!lease) throw new Error('no lease');
      await leases.replace({ ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
      await runSecond;
      expect(second.exits).toEqual([1]);
      expect(second.manager.isLeader()).toBe(false);
    } finally {
      await first.manager.stop();
      await second.manager.stop();
    }
  });
});
