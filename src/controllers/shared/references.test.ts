import { describe, expect, it } from 'vitest';
import type { EventTopic } from '../../crds/index.ts';
import { consents, keyOf, repeatedReferences, resolveTopic, topicKeysOfQueue } from './references.ts';
import { cq } from '../consumer-queue/testing.ts';

function topic(
  namespace: string,
  name: string,
  spec: Partial<EventTopic['spec']> = {},
  arn: string | null = `arn:aws:sns:us-east-1:123456789012:${name}`,
): EventTopic {
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EventTopic',
    metadata: { namespace, name, uid: `uid-${name}` },
    spec: { fifo: false, deletionPolicy: 'Delete', managementPolicy: 'Manage', ...spec },
    status: arn ? { topicArn: arn } : {},
  };
}
const lookup =
  (...topics: EventTopic[]) =>
  (namespace: string, name: string) =>
    topics.find((t) => t.metadata?.namespace === namespace && t.metadata.name === name);

describe('references', () => {
  it('treat an omitted namespace and the own namespace as one reference', () => {
    expect(keyOf({ name: 'a' }, 'shop')).toEqual(keyOf({ name: 'a', namespace: 'shop' }, 'shop'));
    expect(
      repeatedReferences([{ name: 'a' }, { name: 'b' }, { name: 'a', namespace: 'shop' }], 'shop'),
    ).toEqual([2]);
    expect(repeatedReferences([{ name: 'a' }, { name: 'a', namespace: 'other' }], 'shop')).toEqual([]);
  });

  it('need the topic consent for the use, per use, except in its own namespace', () => {
    const consumersOnly = topic('b', 't', { allowedConsumerNamespaces: ['a'] });
    expect(consents(consumersOnly, 'subscribe', 'a')).toBe(true);
    expect(consents(consumersOnly, 'publish', 'a')).toBe(false);
    expect(consents(consumersOnly, 'publish', 'b')).toBe(true);
    expect(consents(topic('b', 't', { allowedPublisherNamespaces: ['*'] }), 'publish', 'x')).toBe(true);
  });

  it('refuse a topic without consent, naming the topic and the missing field', () => {
    const resolved = resolveTopic(
      { name: 'private', namespace: 'b' },
      'a',
      'publish',
      lookup(topic('b', 'private')),
    );
    expect(resolved).toMatchObject({ state: 'refused', reason: 'TopicNotAllowed' });
    expect(resolved.state !== 'ready' && resolved.message).toContain('EventTopic b/private');
    expect(resolved.state !== 'ready' && resolved.message).toContain('spec.allowedPublisherNamespaces');
  });

  it('wait for a topic that is absent or has no ARN yet, and refuse an unfit one', () => {
    expect(resolveTopic({ name: 'x' }, 'a', 'subscribe', lookup())).toMatchObject({
      state: 'waiting',
      reason: 'TopicNotFound',
    });
    expect(resolveTopic({ name: 'x' }, 'a', 'subscribe', lookup(topic('a', 'x', {}, null)))).toMatchObject({
      state: 'waiting',
      reason: 'TopicNotReady',
    });
    expect(
      resolveTopic({ name: 'x' }, 'a', 'subscribe', lookup(topic('a', 'x')), () => ({
        reason: 'FifoMismatch',
        message: 'no',
      })),
    ).toMatchObject({ state: 'refused', reason: 'FifoMismatch' });
    expect(resolveTopic({ name: 'x' }, 'a', 'subscribe', lookup(topic('a', 'x')))).toMatchObject({
      state: 'ready',
      topicArn: 'arn:aws:sns:us-east-1:123456789012:x',
    });
  });

  it('list the canonical topic keys of a queue', () => {
    const queue = cq({
      subscriptions: [{ topicRef: { name: 'a' } }, { topicRef: { name: 'b', namespace: 'other' } }],
      alarms: { topicRef: { name: 'c' } },
    });
    expect(topicKeysOfQueue(queue)).toEqual([
      { namespace: 'shop', name: 'a' },
      { namespace: 'other', name: 'b' },
      { namespace: 'shop', name: 'c' },
    ]);
  });
});
