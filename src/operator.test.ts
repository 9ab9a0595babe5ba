import { describe, expect, it } from 'vitest';
import { ARN, cq, topic } from './controllers/consumer-queue/testing.ts';
import { indexQueueReferences, queuesReferencing } from './operator.ts';
import { Store } from './runtime/store.ts';
import type { ConsumerQueue } from './crds/index.ts';

describe('queuesReferencing: a topic change wakes the queues naming it', () => {
  it('by reference and by ARN, and no other', () => {
    const named = (name: string, spec: Record<string, unknown>) => {
      const queue = cq(spec);
      return { ...queue, metadata: { ...queue.metadata, name } };
    };
    const queues = [
      named('by-ref', { subscriptions: [{ topicRef: { name: 'order-events' } }] }),
      named('by-arn', { subscriptions: [{ topicArn: ARN('order-events') }] }),
      named('other', { subscriptions: [{ topicArn: 'arn:aws:sns:us-east-1:210987654321:order-events' }] }),
    ];
    const store = new Store<ConsumerQueue>();
    indexQueueReferences(store);
    for (const q of queues) store.set(q);
    expect(queuesReferencing(store, topic('shop', 'order-events'))).toEqual(['shop/by-ref', 'shop/by-arn']);
  });
});
