// The runtime's informer against the real apiserver: ConfigMaps in a namespace of the test's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListWatchInformer, type ListWatcher, type WatchEvent } from '../../src/runtime/informer.ts';
import { KubeClient, resourceListWatcher } from '../../src/runtime/kube.ts';
import type { KubeObject } from '../../src/runtime/types.ts';
import { CONFIGMAPS, NAMESPACES } from '../../src/runtime/resources.ts';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const client = new KubeClient(kubeConfig());
const namespace = uniqueName('runtime-informer');

const cm = (name: string, v: string): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data: { v },
});

/** Wraps a ListWatcher so the test can count calls and cut the running watch like a network fault. */
function instrumented(inner: ListWatcher<ConfigMap>) {
  const state = { lists: 0, watches: 0, cut: undefined as (() => void) | undefined };
  const lw: ListWatcher<ConfigMap> = {
    list: () => {
      state.lists++;
      return inner.list();
    },
    watch: async (rv, onEvent: (e: WatchEvent<ConfigMap>) => void, onDone) => {
      state.watches++;
      const abort = await inner.watch(rv, onEvent, onDone);
      state.cut = () => {
        abort();
        onDone(new Error('connection reset (cut by the test)'));
      };
      return abort;
    },
  };
  return { lw, state };
}

/** name → data.v, sorted by name, without the namespace's root CA ConfigMap. */
function stateOf(objs: ConfigMap[]): Record<string, string | undefined> {
  return Object.fromEntries(
    objs
      .filter((o) => o.metadata?.name !== 'kube-root-ca.crt')
      .map((o) => [o.metadata?.name ?? '', o.data?.v] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

async function serverState(): Promise<Record<string, string | undefined>> {
  return stateOf((await client.listAll<ConfigMap>(CONFIGMAPS, { namespace })).items);
}

const cacheState = (informer: ListWatchInformer<ConfigMap>) => stateOf(informer.store.list());

/** Resolves once the informer's cache holds exactly what the server has. */
function converged(informer: ListWatchInformer<ConfigMap>, what: string, timeoutMs = 20_000): Promise<true> {
  return eventually(
    async () =>
      JSON.stringify(cacheState(informer)) === JSON.stringify(await serverState()) ? true : undefined,
    { timeoutMs, what },
  );
}

beforeAll(async () => {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
});

afterAll(async () => {
  await client.delete(NAMESPACES, undefined, namespace);
});

describe('informer on a real apiserver', () => {
  it('sees creates, updates and deletes of ConfigMaps, with apiVersion and kind on listed objects', async () => {
    await client.create(CONFIGMAPS, cm('before', '0'));
    const informer = new ListWatchInformer<ConfigMap>(
      'configmaps',
      resourceListWatcher(client, CONFIGMAPS, { namespace }),
    );
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o) => seen.push(`add ${o.metadata?.name}`),
      onUpdate: (_old, o) => seen.push(`update ${o.metadata?.name}=${o.data?.v}`),
      onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
    });
    informer.start();
    try {
      expect(await informer.waitForSync()).toBe(true);
      const listed = informer.store.get(`${namespace}/before`);
      expect(listed).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { v: '0' } });

      await client.create(CONFIGMAPS, cm('a', '1'));
      await client.patch(CONFIGMAPS, namespace, 'a', 'merge', { data: { v: '2' } });
      await client.delete(CONFIGMAPS, namespace, 'before');
      await eventually(
        () =>
          Promise.resolve(seen.includes(`delete before`) && seen.includes('update a=2') ? true : undefined),
        {
          timeoutMs: 15_000,
          what: 'the informer to see the changes',
        },
      );
      expect(seen.filter((s) => !s.includes('kube-root-ca.crt'))).toEqual([
        'add before',
        'add a',
        'update a=2',
        'delete before',
      ]);
      expect(cacheState(informer)).toEqual({ a: '2' });
      expect(informer.health().healthy).toBe(true);
    } finally {
      informer.stop();
      await informer.stopped();
    }
  });

  it('resumes after server-side watch timeouts and after a cut connection without missing a change', async () => {
    const { lw, state } = instrumented(
      resourceListWatcher(client, CONFIGMAPS, { namespace, minWatchTimeoutSeconds: 1 }),
    );
    const informer = new ListWatchInformer<ConfigMap>('configmaps', lw, {
      initialBackoffMs: 1_000,
      healthyWatchMs: 500,
    });
    informer.start();
    try {
      await informer.waitForSync();
      // Writes spread over several short server-side watch timeouts (1–2 s each).
      for (let i = 0; i < 8; i++) {
        await client.apply({ ...cm(`t${i % 3}`, String(i)) });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await converged(informer, 'the cache to match the server');
      expect(state.watches).toBeGreaterThan(1);

      // Cut the connection, then change things while no watch runs: a create, an update and a delete.
      const watchesBefore = state.watches;
      state.cut?.();
      await client.create(CONFIGMAPS, cm('during-outage', 'x'));
      await client.patch(CONFIGMAPS, namespace, 't0', 'merge', { data: { v: 'changed' } });
      await client.delete(CONFIGMAPS, namespace, 't1');
      await converged(informer, 'the cache to catch up after the cut');
      expect(state.watches).toBeGreaterThan(watchesBefore);
      expect(state.lists).toBe(1); // resumed from the last resourceVersion: no relist needed
      expect(cacheState(informer)).toMatchObject({ 'during-outage': 'x', t0: 'changed' });
      expect(cacheState(informer)).not.toHaveProperty('t1');
    } finally {
      informer.stop();
      await informer.stopped();
    }
  });
});
