import { describe, expect, it } from 'vitest';
import type { EventTopic } from '../../crds/index.ts';
import { cq, lookupOf, topic } from './testing.ts';
import { TOPIC_GRACE_MS, topicOnItsWay } from './topics-on-their-way.ts';

const MADE = Date.parse('2026-01-01T00:00:00Z');

/** A topic made at MADE, at generation 1, with the status its controller has written so far. */
function made(
  name: string,
  status: EventTopic['status'] = {},
  namespace = 'shop',
  allowed?: string[],
): EventTopic {
  const t = topic(namespace, name, { ready: false, ...(allowed ? { allowed } : {}) });
  return {
    ...t,
    metadata: { ...t.metadata, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    status,
  };
}

const subscribing = (...names: string[]) =>
  cq({ subscriptions: names.map((name) => ({ topicRef: { name } })) });

describe('topicOnItsWay', () => {
  it('waits for a topic just made that has not reported yet, until its grace runs out', () => {
    expect(topicOnItsWay(subscribing('orders'), lookupOf(made('orders')), MADE + 1_000)).toEqual({
      namespace: 'shop',
      name: 'orders',
      remainingMs: TOPIC_GRACE_MS - 1_000,
    });
    expect(
      topicOnItsWay(subscribing('orders'), lookupOf(made('orders')), MADE + TOPIC_GRACE_MS),
    ).toBeUndefined();
  });

  it('does not wait for a topic with an ARN, one that reported on its generation, a paused one, or one that does not exist', () => {
    const now = MADE + 1_000;
    expect(topicOnItsWay(subscribing('orders'), lookupOf(topic('shop', 'orders')), now)).toBeUndefined();
    const refused = made('orders', { observedGeneration: 1, conditions: [] });
    expect(topicOnItsWay(subscribing('orders'), lookupOf(refused), now)).toBeUndefined();
    expect(topicOnItsWay(subscribing('orders'), lookupOf(), now)).toBeUndefined();
    const paused = made('orders');
    paused.metadata = { ...paused.metadata, annotations: { 'pubsub.ecommerce.io/paused': 'true' } };
    expect(topicOnItsWay(subscribing('orders'), lookupOf(paused), now)).toBeUndefined();
  });

  it('does not wait for a topic of another namespace that does not consent', () => {
    const q = cq({ subscriptions: [{ topicRef: { name: 'orders', namespace: 'sales' } }] });
    const now = MADE + 1_000;
    expect(topicOnItsWay(q, lookupOf(made('orders', {}, 'sales')), now)).toBeUndefined();
    expect(topicOnItsWay(q, lookupOf(made('orders', {}, 'sales', ['shop'])), now)?.name).toBe('orders');
  });

  it('never holds back a queue that exists already', () => {
    const q = { ...subscribing('orders'), status: { queueUrl: 'https://sqs.example/1/q' } };
    expect(topicOnItsWay(q, lookupOf(made('orders')), MADE + 1_000)).toBeUndefined();
  });
});
