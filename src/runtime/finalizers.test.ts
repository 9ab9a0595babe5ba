import { describe, expect, it } from 'vitest';
import { done, requeueAfter, type ReconcileResult } from './controller.ts';
import {
  ensureFinalizer,
  removeFinalizer,
  STALE_RETRY_MS,
  withFinalizer,
  type FinalizerClient,
} from './finalizers.ts';
import { KubeApiError, type PatchType } from './kube.ts';
import type { KubeObject, ResourceRef } from './types.ts';

const F = 'pubsub.ecommerce.io/cleanup';

function fakeClient(fail?: KubeApiError) {
  const patches: { name: string; type: PatchType; ops: unknown }[] = [];
  const client: FinalizerClient = {
    resourceFor: (apiVersion: string, kind: string): Promise<ResourceRef> =>
      Promise.resolve({
        group: 'example.io',
        version: 'v1',
        plural: 'widgets',
        kind,
        namespaced: apiVersion !== '',
      }),
    patch: <T extends KubeObject>(
      _ref: ResourceRef,
      _ns: string | undefined,
      name: string,
      type: PatchType,
      ops: unknown,
    ) => {
      patches.push({ name, type, ops });
      if (fail) return Promise.reject(fail);
      return Promise.resolve({
        ...widget(),
        metadata: { ...widget().metadata, resourceVersion: '2', finalizers: [F] },
      } as T);
    },
  };
  return { client, patches };
}

const widget = (meta: Partial<NonNullable<KubeObject['metadata']>> = {}): KubeObject => ({
  apiVersion: 'example.io/v1',
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'ns', resourceVersion: '1', ...meta },
});

describe('ensureFinalizer', () => {
  it('adds the first finalizer guarded by the resourceVersion', async () => {
    const { client, patches } = fakeClient();
    const out = await ensureFinalizer(client, widget(), F);
    expect(out.metadata?.resourceVersion).toBe('2');
    expect(patches).toEqual([
      {
        name: 'w',
        type: 'json',
        ops: [
          { op: 'test', path: '/metadata/resourceVersion', value: '1' },
          { op: 'add', path: '/metadata/finalizers', value: [F] },
        ],
      },
    ]);
  });

  it('appends to an existing list guarded by the list itself', async () => {
    const { client, patches } = fakeClient();
    await ensureFinalizer(client, widget({ finalizers: ['other/x'] }), F);
    expect(patches[0]?.ops).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['other/x'] },
      { op: 'add', path: '/metadata/finalizers/-', value: F },
    ]);
  });

  it('does nothing when present', async () => {
    const { client, patches } = fakeClient();
    const obj = widget({ finalizers: [F] });
    expect(await ensureFinalizer(client, obj, F)).toBe(obj);
    expect(patches).toHaveLength(0);
  });
});

describe('removeFinalizer', () => {
  it('tests then removes by index', async () => {
    const { client, patches } = fakeClient();
    await removeFinalizer(client, widget({ finalizers: ['other/x', F] }), F);
    expect(patches[0]?.ops).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: F },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
  });

  it('treats an object that is already gone as done', async () => {
    const { client } = fakeClient(new KubeApiError(404, 'not found'));
    expect(await removeFinalizer(client, widget({ finalizers: [F] }), F)).toBeUndefined();
  });

  it('passes other errors on', async () => {
    const { client } = fakeClient(new KubeApiError(422, 'test failed'));
    await expect(removeFinalizer(client, widget({ finalizers: [F] }), F)).rejects.toThrow('test failed');
  });
});

describe('withFinalizer', () => {
  const handlers = (cleanupResult: ReconcileResult | Error) => {
    const calls: string[] = [];
    return {
      calls,
      h: {
        apply: (obj: KubeObject) => {
          calls.push(`apply rv=${obj.metadata?.resourceVersion}`);
          return Promise.resolve(done());
        },
        cleanup: () => {
          calls.push('cleanup');
          return cleanupResult instanceof Error
            ? Promise.reject(cleanupResult)
            : Promise.resolve(cleanupResult);
        },
      },
    };
  };
  const deleting = (finalizers = [F]) => widget({ deletionTimestamp: '2025-01-01T00:00:00Z', finalizers });

  it('only adds a missing finalizer: the update event of that patch brings the object back', async () => {
    const { client, patches } = fakeClient();
    const { h, calls } = handlers(done());
    expect(await withFinalizer(client, widget(), F, h)).toEqual(done());
    expect(patches).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it('applies an object that carries the finalizer, with no patch', async () => {
    const { client, patches } = fakeClient();
    const { h, calls } = handlers(done());
    expect(await withFinalizer(client, widget({ finalizers: [F] }), F, h)).toEqual(done());
    expect(patches).toHaveLength(0);
    expect(calls).toEqual(['apply rv=1']);
  });

  it('cleans up and removes the finalizer only when cleanup is done', async () => {
    const { client, patches } = fakeClient();
    const { h, calls } = handlers(done());
    expect(await withFinalizer(client, deleting(), F, h)).toEqual(done());
    expect(calls).toEqual(['cleanup']);
    expect(patches[0]?.ops).toContainEqual({ op: 'remove', path: '/metadata/finalizers/0' });
  });

  it('keeps the finalizer when cleanup asks to come back later', async () => {
    const { client, patches } = fakeClient();
    const { h } = handlers(requeueAfter(30_000));
    expect(await withFinalizer(client, deleting(), F, h)).toEqual(requeueAfter(30_000));
    expect(patches).toHaveLength(0);
  });

  it('keeps the finalizer when cleanup fails', async () => {
    const { client, patches } = fakeClient();
    const { h } = handlers(new Error('queue still has messages'));
    await expect(withFinalizer(client, deleting(), F, h)).rejects.toThrow('queue still has messages');
    expect(patches).toHaveLength(0);
  });

  it('does nothing for a deleted object that does not carry the finalizer', async () => {
    const { client, patches } = fakeClient();
    const { h, calls } = handlers(done());
    expect(await withFinalizer(client, deleting(['other/x']), F, h)).toEqual(done());
    expect(calls).toEqual([]);
    expect(patches).toHaveLength(0);
  });

  it('takes a finalizer patch refused for a stale object (422 failed test, 409) as no failure: it looks again soon', async () => {
    for (const code of [409, 422]) {
      const { client, patches } = fakeClient(new KubeApiError(code, 'the server rejected our request'));
      const { h } = handlers(done());
      expect(await withFinalizer(client, widget(), F, h)).toEqual(requeueAfter(STALE_RETRY_MS));
      expect(await withFinalizer(client, deleting(), F, h)).toEqual(requeueAfter(STALE_RETRY_MS));
      expect(patches).toHaveLength(2);
    }
  });

  it('passes any other refusal of the finalizer patch on', async () => {
    const { client } = fakeClient(new KubeApiError(403, 'forbidden'));
    const { h } = handlers(done());
    await expect(withFinalizer(client, widget(), F, h)).rejects.toThrow('forbidden');
  });
});
