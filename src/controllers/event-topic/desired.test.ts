import { describe, expect, it } from 'vitest';
import { ownershipTags } from '../../aws/ownership.ts';
import type { EventTopic } from '../../crds/index.ts';
import { isNoop, planResource } from '../shared/plan.ts';
import { desiredTopic, managedTagKeys } from './desired.ts';

const settings = { clusterName: 'prod', namePrefix: 'pubsub', region: 'us-east-1' };

function topic(spec: Partial<EventTopic['spec']> = {}, status?: EventTopic['status']): EventTopic {
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EventTopic',
    metadata: { namespace: 'shop', name: 'order-events', uid: 'uid-1', generation: 2 },
    spec: { fifo: false, deletionPolicy: 'Delete', managementPolicy: 'Manage', ...spec },
    ...(status ? { status } : {}),
  };
}

const ours = ownershipTags({ cluster: 'prod', namespace: 'shop', name: 'order-events', uid: 'uid-1' });

describe('desiredTopic', () => {
  it('derives a deterministic name and always carries the ownership tags', () => {
    const d = desiredTopic(topic({ tags: { team: 'orders' } }), settings);
    expect(d.name).toBe('pubsub_shop_order-events');
    expect(d.tags).toEqual({ team: 'orders', ...ours });
    expect(d.createOnly).toEqual({});
  });

  it('gives FIFO topics the .fifo name, FifoTopic at creation and their FIFO attributes', () => {
    const d = desiredTopic(
      topic({ fifo: true, contentBasedDeduplication: true, fifoThroughputScope: 'MessageGroup' }),
      settings,
    );
    expect(d.name).toBe('pubsub_shop_order-events.fifo');
    expect(d.createOnly).toEqual({ FifoTopic: 'true' });
    expect(d.attributes).toMatchObject({
      ContentBasedDeduplication: 'true',
      FifoThroughputScope: 'MessageGroup',
    });
  });

  it('prefers the spec override, then the name recorded in status', () => {
    expect(desiredTopic(topic({ topicName: 'legacy-orders' }), settings).name).toBe('legacy-orders');
    expect(desiredTopic(topic({}, { topicName: 'old-prefix-orders' }), settings).name).toBe(
      'old-prefix-orders',
    );
  });
});

describe('planResource for a topic', () => {
  const desired = desiredTopic(topic({ displayName: 'Orders' }), settings);

  it('creates a missing topic', () => {
    expect(planResource(desired, undefined)).toEqual({ action: 'create' });
  });

  it.each([
    ['unmanaged', { team: 'x' }, /not managed by pubsub-operator/],
    [
      'another uid',
      { ...ours, 'pubsub.ecommerce.io/uid': 'uid-0' },
      /belongs to shop\/order-events \(uid uid-0\)/,
    ],
    ['another cluster', { ...ours, 'pubsub.ecommerce.io/cluster': 'staging' }, /in cluster staging/],
  ])('refuses a topic owned by someone else (%s)', (_case, tags, message) => {
    const plan = planResource(desired, { attributes: {}, tags });
    expect(plan.action).toBe('refuse');
    expect(plan.action === 'refuse' && plan.message).toMatch(message);
  });

  it('adopts an untagged topic only with consent, tagging it as ours', () => {
    const untagged = { attributes: { DisplayName: 'by hand' }, tags: { team: 'x' } };
    const refused = planResource(desired, untagged);
    expect(refused.action === 'refuse' && refused.message).toMatch(
      /annotate the object pubsub\.ecommerce\.io\/adopt=true/,
    );
    const adopted = planResource(desired, untagged, [], true);
    expect(adopted).toMatchObject({ action: 'update', adopted: true, attributes: { DisplayName: 'Orders' } });
    expect(adopted.action === 'update' && adopted.tags.set).toMatchObject(ours);
  });

  it('never adopts a topic that carries another owner’s tags, whatever the consent', () => {
    const foreign = { attributes: {}, tags: { ...ours, 'pubsub.ecommerce.io/uid': 'uid-0' } };
    const plan = planResource(desired, foreign, [], true);
    expect(plan.action).toBe('refuse');
    expect(plan.action === 'refuse' && plan.message).not.toMatch(/adopt/);
  });

  it('makes no call at steady state, whatever the form AWS reports values in', () => {
    const plan = planResource(desired, {
      attributes: { DisplayName: 'Orders', TopicArn: 'arn:t', Owner: '123', KmsMasterKeyId: '' },
      tags: { ...desired.tags },
    });
    expect(isNoop(plan)).toBe(true);
  });

  it('repairs drifted attributes and missing tags', () => {
    const plan = planResource(desired, {
      attributes: { DisplayName: 'Changed by hand' },
      tags: { ...ours, 'pubsub.ecommerce.io/extra': 'x' },
    });
    expect(plan).toEqual({
      action: 'update',
      attributes: { DisplayName: 'Orders' },
      tags: { set: {}, remove: [] },
    });
  });

  it('removes a tag the spec dropped only when the operator applied it', () => {
    const tagged = topic({ tags: { team: 'orders' } });
    const want = desiredTopic(tagged, settings);
    const actual = {
      attributes: { DisplayName: '', KmsMasterKeyId: '' },
      tags: { ...want.tags, cost: 'c1', finance: 'by-hand' },
    };
    const plan = planResource(want, actual, ['cost', 'team']);
    expect(plan).toEqual({ action: 'update', attributes: {}, tags: { set: {}, remove: ['cost'] } });
    expect(managedTagKeys(tagged)).toEqual(['team']);
    expect(managedTagKeys(topic())).toEqual([]);
  });

  it('refuses a topic whose FIFO-ness differs from the spec', () => {
    const plan = planResource(desired, { attributes: { FifoTopic: 'true' }, tags: ours });
    expect(plan.action === 'refuse' && plan.message).toMatch(/is FIFO but the spec says fifo: false/);
  });
});
