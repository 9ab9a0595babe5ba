import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../runtime/types.ts';
import {
  configMapMatches,
  controllerUid,
  desiredConfigMap,
  syncConnectionDetails,
} from './connection-details.ts';

const owner = {
  apiVersion: 'pubsub.ecommerce.io/v1alpha1',
  kind: 'ConsumerQueue',
  metadata: { namespace: 'shop', name: 'orders', uid: 'u1' },
  spec: { connectionConfigMap: { name: 'orders-queue' } },
};
const data = { QUEUE_URL: 'https://q', QUEUE_ARN: 'arn:q', AWS_REGION: 'eu-west-1' };
const ownedBy = (uid: string) => [
  { apiVersion: 'x', kind: 'ConsumerQueue', name: 'orders', uid, controller: true },
];

/** A fake of the narrow services: the cache, the API server's ConfigMaps, and what was written. */
function fake(stored: KubeObject[] = []) {
  const calls: string[] = [];
  return {
    calls,
    services: {
      configMapsOwnedBy: (uid: string) => stored.filter((cm) => controllerUid(cm) === uid),
      kube: {
        get: <T extends KubeObject>(_ref: unknown, _ns: string | undefined, name: string) =>
          Promise.resolve(stored.find((cm) => cm.metadata?.name === name) as T | undefined),
        delete: (_ref: unknown, _ns: string | undefined, name: string) => {
          calls.push(`delete ${name}`);
          return Promise.resolve(true);
        },
      },
      applyOwned: <O extends KubeObject>(_owner: KubeObject, obj: O) => {
        calls.push(`apply ${obj.metadata?.name}`);
        return Promise.resolve(obj);
      },
    },
  };
}

describe('desiredConfigMap and configMapMatches', () => {
  it('carry the keys given and the managed-by label, and see a stale key as a difference', () => {
    const cm = desiredConfigMap(owner, 'orders-queue', { ...data, DLQ_URL: undefined });
    expect(cm.data).toEqual(data);
    expect(cm.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'pubsub-operator' });
    expect(configMapMatches(cm, cm)).toBe(true);
    expect(configMapMatches({ ...cm, data: { ...data, DLQ_URL: 'old' } }, cm)).toBe(false);
    expect(configMapMatches({ ...cm, data: { ...data, OTHER: 'by hand' } }, cm)).toBe(true);
  });
});

describe('syncConnectionDetails', () => {
  it('writes a missing ConfigMap, and nothing when the cached one matches', async () => {
    const missing = fake();
    expect((await syncConnectionDetails(missing.services, owner, data))?.status).toBe('True');
    expect(missing.calls).toEqual(['apply orders-queue']);

    const cm = { ...desiredConfigMap(owner, 'orders-queue', data) };
    cm.metadata = { ...cm.metadata, ownerReferences: ownedBy('u1') };
    const same = fake([cm]);
    expect((await syncConnectionDetails(same.services, owner, data))?.status).toBe('True');
    expect(same.calls).toEqual([]);
  });

  it('never writes over a ConfigMap that is not the object’s', async () => {
    const theirs = fake([{ metadata: { name: 'orders-queue', namespace: 'shop' } }]);
    expect(await syncConnectionDetails(theirs.services, owner, data)).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
    });
    expect(theirs.calls).toEqual([]);
  });

  it('deletes the ConfigMaps it owns under another name, and removes the condition without a name', async () => {
    const old = {
      metadata: { name: 'old-name', namespace: 'shop', uid: 'cm1', ownerReferences: ownedBy('u1') },
    };
    const renamed = fake([old]);
    await syncConnectionDetails(renamed.services, owner, data);
    expect(renamed.calls).toEqual(['delete old-name', 'apply orders-queue']);

    const dropped = fake([old]);
    expect(await syncConnectionDetails(dropped.services, { ...owner, spec: {} }, data)).toBeNull();
    expect(dropped.calls).toEqual(['delete old-name']);
  });

  it('waits while the resource is not known', async () => {
    const waiting = fake();
    expect(await syncConnectionDetails(waiting.services, owner, undefined)).toMatchObject({
      reason: 'Waiting',
    });
    expect(waiting.calls).toEqual([]);
  });
});
