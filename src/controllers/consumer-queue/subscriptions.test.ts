import { describe, expect, it } from 'vitest';
import {
  deliveringTopics,
  planSubscriptionEntries,
  redrivePolicyFor,
  subscribedCondition,
  subscriptionDelta,
  topicsOfInterest,
  type FoundSubscription,
} from './subscriptions.ts';
import { ARN, cq, lookupOf, topic } from './testing.ts';

const sub = (name: string, extra: Record<string, unknown> = {}) => ({ topicRef: { name, ...extra } });
const noRedrive = { deadLetterArn: undefined, queueFifo: false };
const DLQ = 'arn:aws:sqs:us-east-1:123456789012:q_dlq';
const found = (
  arn: string,
  topicName: string,
  attributes: Record<string, string> = {},
): FoundSubscription => ({
  arn,
  topicArn: ARN(topicName),
  attributes: { RawMessageDelivery: 'true', ...attributes },
});

describe('planSubscriptionEntries: resolving each entry', () => {
  it('subscribes to a Ready topic of its own namespace with raw delivery, the filter policy and the redrive', () => {
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [{ ...sub('order-events'), filterPolicy: { eventType: ['OrderCreated'] } }] }),
      lookup: lookupOf(topic('shop', 'order-events')),
      redrive: { deadLetterArn: DLQ, queueFifo: false },
      found: [],
    });
    expect(plan.entries[0]).toMatchObject({
      action: 'subscribe',
      key: { namespace: 'shop', name: 'order-events' },
      topicArn: ARN('order-events'),
      current: undefined,
      attributes: {
        RawMessageDelivery: 'true',
        FilterPolicy: '{"eventType":["OrderCreated"]}',
        FilterPolicyScope: 'MessageAttributes',
        RedrivePolicy: `{"deadLetterTargetArn":"${DLQ}"}`,
      },
    });
  });

  it.each([
    ['a missing topic waits', [], 'TopicNotFound'],
    ['a topic without an ARN waits', [topic('shop', 't', { ready: false })], 'TopicNotReady'],
    ['a topic with an ARN but not Ready waits', [notReadyWithArn()], 'TopicNotReady'],
  ])('%s', (_case, topics, reason) => {
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [sub('t')] }),
      lookup: lookupOf(...topics),
      redrive: noRedrive,
      found: [],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'hold', state: 'Waiting', reason });
  });

  it('refuses a standard topic for a FIFO queue, and a topic that does not admit the namespace', () => {
    const fifo = planSubscriptionEntries({
      cq: cq({ fifo: true, subscriptions: [sub('t')] }),
      lookup: lookupOf(topic('shop', 't')),
      redrive: noRedrive,
      found: [],
    });
    expect(fifo.entries[0]).toMatchObject({ action: 'refuse', reason: 'FifoMismatch' });
    const foreign = planSubscriptionEntries({
      cq: cq({ subscriptions: [sub('t', { namespace: 'platform' })] }),
      lookup: lookupOf(topic('platform', 't')),
      redrive: noRedrive,
      found: [],
    });
    expect(foreign.entries[0]).toMatchObject({ action: 'refuse', reason: 'TopicNotAllowed' });
  });

  it('acts once on two entries naming the same topic (omitted namespace and own namespace)', () => {
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [sub('own-events'), sub('own-events', { namespace: 'shop' })] }),
      lookup: lookupOf(topic('shop', 'own-events')),
      redrive: noRedrive,
      found: [found('s1', 'own-events')],
    });
    expect(plan.entries.map((e) => e.action)).toEqual(['subscribe', 'refuse']);
    expect(plan.entries[1]).toMatchObject({ reason: 'DuplicateTopic' });
    expect(plan.entries[0]).toMatchObject({ current: { arn: 's1' }, delta: {}, duplicates: [] });
    expect(plan.unwanted).toEqual([]);
  });
});

describe('planSubscriptionEntries: what AWS shows', () => {
  const lookup = lookupOf(topic('shop', 'a'), topic('shop', 'b'));

  it('unsubscribes what no entry wants and keeps one subscription per topic', () => {
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [sub('a')] }),
      lookup,
      redrive: noRedrive,
      found: [found('s-a1', 'a'), found('s-a2', 'a'), found('s-b', 'b')],
    });
    expect(plan.entries[0]).toMatchObject({ current: { arn: 's-a1' }, duplicates: [{ arn: 's-a2' }] });
    expect(plan.unwanted.map((u) => u.arn)).toEqual(['s-b']);
  });

  it('keeps the subscription of an entry whose EventTopic is gone while SNS still delivers (TopicGone)', () => {
    const queue = cq(
      { subscriptions: [sub('a')] },
      {
        subscriptions: [
          { topicRef: { namespace: 'shop', name: 'a' }, topicArn: ARN('a'), subscriptionArn: 's' },
        ],
      },
    );
    const plan = planSubscriptionEntries({
      cq: queue,
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [found('s', 'a')],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'hold', state: 'TopicGone', kept: [{ arn: 's' }] });
    expect(plan.entries[0]?.action === 'hold' && plan.entries[0].message).toContain(ARN('a'));
    expect(plan.unwanted).toEqual([]);
    expect(deliveringTopics(plan, [found('s', 'a')])).toEqual([ARN('a')]);
    // The entry removed: the subscription is unwanted, and leaves the policy once unsubscribed.
    const removed = planSubscriptionEntries({
      cq: { ...queue, spec: { ...queue.spec, subscriptions: [] } },
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [found('s', 'a')],
    });
    expect(removed.unwanted.map((u) => u.arn)).toEqual(['s']);
    expect(deliveringTopics(removed, [])).toEqual([]);
  });

  it('moves to the new ARN of a recreated topic, the old subscription superseded', () => {
    const queue = cq(
      { subscriptions: [sub('a')] },
      { subscriptions: [{ topicRef: { namespace: 'shop', name: 'a' }, topicArn: ARN('old-a') }] },
    );
    const plan = planSubscriptionEntries({
      cq: queue,
      lookup,
      redrive: noRedrive,
      found: [found('s-old', 'old-a')],
    });
    expect(plan.entries[0]).toMatchObject({
      action: 'subscribe',
      current: undefined,
      superseded: [{ arn: 's-old' }],
    });
    expect(plan.unwanted).toEqual([]);
    expect(topicsOfInterest(queue, lookup)).toEqual([ARN('a'), ARN('old-a')]);
  });
});

describe('redrive and attribute deltas', () => {
  it('gives a standard queue subscribed to a FIFO topic no redrive, and says why', () => {
    expect(
      redrivePolicyFor('arn:aws:sns:us-east-1:1:t.fifo', { deadLetterArn: DLQ, queueFifo: false }),
    ).toBeUndefined();
    expect(
      redrivePolicyFor('arn:aws:sns:us-east-1:1:t.fifo', { deadLetterArn: DLQ, queueFifo: true }),
    ).toBeDefined();
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [sub('t')] }),
      lookup: lookupOf({ ...topic('shop', 't', { fifo: true }), status: fifoStatus() }),
      redrive: { deadLetterArn: DLQ, queueFifo: false },
      found: [],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'subscribe' });
    expect(plan.entries[0]?.action === 'subscribe' && plan.entries[0].noRedrive).toContain('FIFO');
  });

  it('compares canonically, so a stored policy in another key order is no change', () => {
    expect(
      subscriptionDelta(
        {
          RawMessageDelivery: 'true',
          FilterPolicy: '{"a":["1"],"b":["2"]}',
          FilterPolicyScope: 'MessageAttributes',
          RedrivePolicy: `{"deadLetterTargetArn":"${DLQ}"}`,
        },
        {
          RawMessageDelivery: 'true',
          FilterPolicy: '{"b": ["2"], "a": ["1"]}',
          FilterPolicyScope: 'MessageAttributes',
          RedrivePolicy: `{ "deadLetterTargetArn" : "${DLQ}" }`,
        },
      ),
    ).toEqual({});
  });

  it('repairs drift, clearing a filter policy with {} and a redrive policy with an empty value', () => {
    expect(
      subscriptionDelta(
        { RawMessageDelivery: 'true' },
        {
          RawMessageDelivery: 'false',
          FilterPolicy: '{"x":["y"]}',
          RedrivePolicy: '{"deadLetterTargetArn":"x"}',
        },
      ),
    ).toEqual({ FilterPolicy: '{}', RawMessageDelivery: 'true', RedrivePolicy: '' });
  });
});

describe('subscribedCondition', () => {
  it('is True when every entry is Active, else names every entry that is not', () => {
    const active = {
      topicRef: { namespace: 'shop', name: 'a' },
      state: 'Active' as const,
      reason: 'Subscribed',
    };
    expect(subscribedCondition([active], 1).status).toBe('True');
    const waiting = {
      topicRef: { namespace: 'shop', name: 'b' },
      state: 'Waiting' as const,
      reason: 'TopicNotFound',
      message: 'EventTopic shop/b does not exist',
    };
    const c = subscribedCondition([active, waiting], 2);
    expect(c).toMatchObject({ status: 'False', reason: 'TopicNotFound' });
    expect(c.message).toContain('shop/b');
  });
});

function fifoStatus() {
  return {
    topicArn: 'arn:aws:sns:us-east-1:123456789012:t.fifo',
    conditions: [
      {
        type: 'Ready',
        status: 'True' as const,
        reason: 'Available',
        message: '',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
}

function notReadyWithArn() {
  const t = topic('shop', 't');
  return { ...t, status: { topicArn: ARN('t'), conditions: [] } };
}
