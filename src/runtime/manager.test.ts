import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { done } from './controller.ts';
import { KubeClient } from './kube.ts';
import { Manager, withoutBookkeeping } from './manager.ts';
import type { ResourceRef } from './types.ts';

const CONFIGMAPS: ResourceRef = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};
const offline = (): KubeClient => new KubeClient(new KubeConfig());

/** A manager with nothing to reach, running until signalled; exit codes are recorded, not acted on. */
async function runOffline(): Promise<{ exits: number[]; running: Promise<void> }> {
  const exits: number[] = [];
  const manager = new Manager({
    client: offline(),
    healthPort: false,
    leaderElection: false,
    exit: (c) => exits.push(c),
  });
  const running = manager.run();
  await new Promise((resolve) => setImmediate(resolve));
  return { exits, running };
}

describe('Manager', () => {
  it('exits 0 after SIGTERM and removes its signal handlers', async () => {
    const before = process.listenerCount('SIGTERM');
    const { exits, running } = await runOffline();
    const ours = process.listeners('SIGTERM').at(-1);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    ours?.('SIGTERM');
    await running;
    expect(exits).toEqual([0]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('a second signal while draining exits 1 at once', async () => {
    const { exits, running } = await runOffline();
    const ours = process.listeners('SIGINT').at(-1);
    ours?.('SIGINT');
    ours?.('SIGINT');
    await running;
    expect(exits).toEqual([1, 0]);
  });

  it('shares one informer per resource between controllers and refuses late or duplicate controllers', async () => {
    const manager = new Manager({ client: offline(), healthPort: false, leaderElection: false });
    const reconcile = () => Promise.resolve(done());
    manager.addController({ name: 'a', for: CONFIGMAPS, reconcile });
    expect(manager.informer(CONFIGMAPS)).toBe(manager.informer({ ...CONFIGMAPS }));
    expect(() => manager.addController({ name: 'a', for: CONFIGMAPS, reconcile })).toThrow(/already added/);
    await manager.stop();
    expect(() => manager.addController({ name: 'b', for: CONFIGMAPS, reconcile })).toThrow(
      /before the manager starts/,
    );
  });
});

describe('withoutBookkeeping', () => {
  const managed = [
    { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    { manager: 'pubsub-operator-scaler', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
  ];
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      resourceVersion: '7',
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":1}', team: 'x' },
      managedFields: managed,
    },
    spec: { replicas: 2 },
  };

  it('drops managedFields and the last-applied annotation and keeps everything else', () => {
    const lean = withoutBookkeeping()(object);
    expect(lean).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        resourceVersion: '7',
        labels: { app: 'web' },
        annotations: { team: 'x' },
      },
      spec: { replicas: 2 },
    });
    expect(object.metadata.managedFields).toHaveLength(2);
  });

  it('keeps the entries of the listed field managers, and drops an annotations map left empty', () => {
    const lean = withoutBookkeeping(['pubsub-operator-scaler'])({
      ...object,
      metadata: {
        ...object.metadata,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    expect((lean.metadata as { managedFields?: unknown }).managedFields).toEqual([managed[1]]);
    expect(lean.metadata).not.toHaveProperty('annotations');
  });

  it('returns an object without bookkeeping as it is', () => {
    const plain = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    expect(withoutBookkeeping()(plain)).toBe(plain);
  });
});
