// Writes through the runtime against the real apiserver: server-side apply of owned objects and of
// a custom resource's /status, finalizers, Events, and a watch that must relist after 410. The test
// installs a tiny CRD of its own (group runtime-test.pubsub.ecommerce.io) so it depends on no other work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOwned, ownerReference, StatusWriter } from '../../src/runtime/apply.ts';
import { setCondition } from '../../src/runtime/conditions.ts';
import { done, requeueAfter } from '../../src/runtime/controller.ts';
import { KubeEventRecorder } from '../../src/runtime/events.ts';
import { ensureFinalizer, removeFinalizer, withFinalizer } from '../../src/runtime/finalizers.ts';
import { ListWatchInformer, type ListWatcher } from '../../src/runtime/informer.ts';
import { KubeClient, resourceListWatcher } from '../../src/runtime/kube.ts';
import type { KubeObject, ResourceRef } from '../../src/runtime/types.ts';
import { CONFIGMAPS, EVENTS, NAMESPACES } from '../../src/runtime/resources.ts';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';

const GROUP = 'runtime-test.pubsub.ecommerce.io';
const WIDGETS: ResourceRef = {
  group: GROUP,
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: true,
};
const FINALIZER = `${GROUP}/cleanup`;

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { phase?: string; conditions?: ReturnType<typeof setCondition> };
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
}

const client = new KubeClient(kubeConfig());
const namespace = uniqueName('runtime-apply');

const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' } } },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string' },
                  conditions: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['type'],
                    items: {
                      type: 'object',
                      required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
                      properties: {
                        type: { type: 'string' },
                        status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
                        observedGeneration: { type: 'integer' },
                        lastTransitionTime: { type: 'string', format: 'date-time' },
                        reason: { type: 'string' },
                        message: { type: 'string' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

const widget = (name: string, size = 1): Widget => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Widget',
  metadata: { name, namespace },
  spec: { size },
});

beforeAll(async () => {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await client.apply(widgetCrd, { fieldManager: 'runtime-tests' });
  await eventually(
    async () => {
      await client.listAll(WIDGETS, { namespace });
      return true;
    },
    { timeoutMs: 30_000, what: 'the Widget CRD to be served' },
  );
});

afterAll(async () => {
  await client.delete(NAMESPACES, undefined, namespace);
});

describe('server-side apply', () => {
  it('applies an owned ConfigMap with a controller owner reference, and garbage collection follows it', async () => {
    const owner = await client.create<Widget>(WIDGETS, widget('owner'));
    const applied = await applyOwned<KubeObject & { data?: Record<string, string> }>(client, owner, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', namespace },
      data: { a: '1', b: '2' },
    });
    expect(applied.metadata?.ownerReferences).toEqual([ownerReference(owner)]);
    expect(applied.metadata?.ownerReferences?.[0]).toMatchObject({
      controller: true,
      blockOwnerDeletion: true,
    });
    const managed = (applied.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? [];
    expect(managed).toContainEqual(
      expect.objectContaining({ manager: 'pubsub-operator', operation: 'Apply' }),
    );

    // Applying again without `b` removes it: the operator owns the fields it sets, and only those.
    const again = await applyOwned<KubeObject & { data?: Record<string, string> }>(client, owner, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', namespace },
      data: { a: '1' },
    });
    expect(again.data).toEqual({ a: '1' });

    await client.delete(WIDGETS, namespace, 'owner', { propagationPolicy: 'Background' });
    await eventually(async () => ((await client.get(CONFIGMAPS, namespace, 'owned')) ? undefined : true), {
      timeoutMs: 60_000,
      what: 'the garbage collector to delete the owned ConfigMap',
    });
  });

  it('writes a custom resource status through /status without touching spec or generation', async () => {
    const created = await client.create<Widget>(WIDGETS, widget('status-me', 3));
    const writer = new StatusWriter(client);
    const conditions = setCondition([], {
      type: 'Ready',
      status: 'False',
      reason: 'Provisioning',
      message: 'creating',
      observedGeneration: created.metadata?.generation ?? 0,
    });
    const first = await writer.apply<Widget>(created, { phase: 'Provisioning', conditions });
    expect(first.status).toEqual({ phase: 'Provisioning', conditions });
    expect(first.spec).toEqual({ size: 3 });
    expect(first.metadata?.generation).toBe(created.metadata?.generation);
    const managed = (first.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? [];
    expect(managed).toContainEqual(
      expect.objectContaining({ manager: 'pubsub-operator', operation: 'Apply', subresource: 'status' }),
    );

    // A second write replaces the whole status: `phase` is dropped because it is no longer set.
    const ready = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' });
    const second = await writer.apply<Widget>(created, { conditions: ready });
    expect(second.status).toEqual({ conditions: ready });

    // The same status again is a no-op on the server: no new resourceVersion.
    const third = await writer.apply<Widget>(created, { conditions: ready });
    expect(third.metadata?.resourceVersion).toBe(second.metadata?.resourceVersion);
  });
});

describe('finalizers on a real object', () => {
  it('adds once, refuses to overwrite a concurrent change, and removes', async () => {
    const w = await client.create<Widget>(WIDGETS, widget('fin'));
    const withF = await ensureFinalizer(client, w, FINALIZER);
    expect(withF.metadata?.finalizers).toEqual([FINALIZER]);
    expect(await ensureFinalizer(client, withF, FINALIZER)).toBe(withF);

    // Someone else adds theirs; our stale copy must not clobber it.
    await client.patch(WIDGETS, namespace, 'fin', 'json', [
      { op: 'add', path: '/metadata/finalizers/-', value: 'someone.else/keep' },
    ]);
    const stale = { ...w, metadata: { ...w.metadata, finalizers: ['other.io/gone'] } };
    await expect(ensureFinalizer(client, stale, FINALIZER)).rejects.toHaveProperty('statusCode', 422);
    const now = await client.get<Widget>(WIDGETS, namespace, 'fin');
    expect(now?.metadata?.finalizers).toEqual([FINALIZER, 'someone.else/keep']);

    const removed = await removeFinalizer(client, now as Widget, FINALIZER);
    expect(removed?.metadata?.finalizers).toEqual(['someone.else/keep']);
    await client.patch(WIDGETS, namespace, 'fin', 'merge', { metadata: { finalizers: null } });
  });

  it('withFinalizer keeps the object until cleanup is done, then lets it go', async () => {
    const created = await client.create<Widget>(WIDGETS, widget('lifecycle'));
    const applied = await withFinalizer(client, created, FINALIZER, {
      apply: () => Promise.resolve(done()),
      cleanup: () => Promise.reject(new Error('not while alive')),
    });
    expect(applied).toEqual(done());
    await client.delete(WIDGETS, namespace, 'lifecycle');
    const deleting = await client.get<Widget>(WIDGETS, namespace, 'lifecycle');
    expect(deleting?.metadata?.deletionTimestamp).toBeTruthy();

    const later = await withFinalizer(client, deleting as Widget, FINALIZER, {
      apply: () => Promise.reject(new Error('not while deleting')),
      cleanup: () => Promise.resolve(requeueAfter(1_000)),
    });
    expect(later).toEqual(requeueAfter(1_000));
    expect(await client.get(WIDGETS, namespace, 'lifecycle')).toBeDefined();

    await expect(
      withFinalizer(client, deleting as Widget, FINALIZER, {
        apply: () => Promise.resolve(done()),
        cleanup: () => Promise.reject(new Error('cloud API down')),
      }),
    ).rejects.toThrow('cloud API down');
    expect(await client.get(WIDGETS, namespace, 'lifecycle')).toBeDefined();

    const finished = await withFinalizer(client, deleting as Widget, FINALIZER, {
      apply: () => Promise.reject(new Error('not while deleting')),
      cleanup: () => Promise.resolve(done()),
    });
    expect(finished).toEqual(done());
    await eventually(async () => ((await client.get(WIDGETS, namespace, 'lifecycle')) ? undefined : true), {
      timeoutMs: 10_000,
      what: 'the widget to be gone',
    });
  });
});

describe('events', () => {
  it('records an Event about the object and folds repeats into its series', async () => {
    const w = await client.create<Widget>(WIDGETS, widget('noisy'));
    const recorder = new KubeEventRecorder({
      client,
      controller: 'pubsub-operator',
      instance: 'runtime-tests',
      minUpdateIntervalMs: 200,
    });
    recorder.event(w, 'Normal', 'Created', 'made a thing');
    for (let i = 0; i < 5; i++) {
      recorder.event(w, 'Warning', 'SyncFailed', 'the cloud said no');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await recorder.flush();
    interface Ev {
      reason?: string;
      type?: string;
      note?: string;
      series?: { count: number };
      regarding?: { uid?: string };
    }
    const events = await eventually(
      async () => {
        const list = await client.listAll<KubeObject & Ev>(EVENTS, { namespace });
        const mine = list.items.filter((e) => e.regarding?.uid === w.metadata?.uid);
        const failed = mine.find((e) => e.reason === 'SyncFailed');
        return failed?.series?.count === 5 ? mine : undefined;
      },
      { timeoutMs: 10_000, what: 'the series count to reach 5' },
    );
    expect(events.filter((e) => e.reason === 'SyncFailed')).toHaveLength(1);
    expect(events.find((e) => e.reason === 'Created')).toMatchObject({
      type: 'Normal',
      note: 'made a thing',
    });
    expect(events.find((e) => e.reason === 'SyncFailed')).toMatchObject({
      type: 'Warning',
      note: 'the cloud said no',
    });
  });
});

describe('informer and 410', () => {
  it('relists when the server answers a watch with 410 Gone', async () => {
    await client.create(WIDGETS, widget('w1'));
    const inner = resourceListWatcher<Widget>(client, WIDGETS, { namespace });
    let lists = 0;
    let first = true;
    const lw: ListWatcher<Widget> = {
      list: () => {
        lists++;
        return inner.list();
      },
      // The first watch asks for resourceVersion 1: long before this CRD existed, so outside the
      // apiserver's watch window, which it answers with 410.
      watch: (rv, onEvent, onDone) => {
        const from = first ? '1' : rv;
        first = false;
        return inner.watch(from, onEvent, onDone);
      },
    };
    const informer = new ListWatchInformer<Widget>('widgets', lw, { initialBackoffMs: 200 });
    informer.start();
    try {
      await informer.waitForSync();
      await eventually(() => Promise.resolve(lists >= 2 ? true : undefined), {
        timeoutMs: 15_000,
        what: 'a relist',
      });
      await client.create(WIDGETS, widget('w2'));
      await eventually(() => Promise.resolve(informer.store.get(`${namespace}/w2`) ? true : undefined), {
        timeoutMs: 15_000,
        what: 'the informer to see w2 after relisting',
      });
    } finally {
      informer.stop();
      await informer.stopped();
    }
  });
});
