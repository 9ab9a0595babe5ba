import { describe, expect, it } from 'vitest';
import {
  desiredQueues,
  planSubscriptions,
  queueNames,
  queuePolicy,
  resolveSubscriptions,
} from './desired.ts';
import { ARN, cq, lookupOf, settings, topic } from './testing.ts';

describe('queueNames', () => {
  it.each([
    ['derived', {}, undefined, 'pubsub_shop_payment-orders', 'pubsub_shop_payment-orders_dlq'],
    [
      'derived FIFO',
      { fifo: true },
      undefined,
      'pubsub_shop_payment-orders.fifo',
      'pubsub_shop_payment-orders_dlq.fifo',
    ],
    ['overridden', { queueName: 'legacy_orders' }, undefined, 'legacy_orders', 'legacy_orders-dlq'],
    [
      'overridden FIFO',
      { fifo: true, queueName: 'legacy.fifo' },
      undefined,
      'legacy.fifo',
      'legacy-dlq.fifo',
    ],
    [
      'recorded in status',
      {},
      { queueName: 'old_q', deadLetterQueueUrl: 'http://sqs.local/123456789012/old_q_dlq' },
      'old_q',
      'old_q_dlq',
    ],
  ])('%s', (_case, spec, status, queue, deadLetter) => {
    expect(queueNames(cq(spec, status), settings)).toEqual({ queue, deadLetter });
  });

  it('keeps a long overridden name legal', () => {
    const names = queueNames(cq({ queueName: 'q'.repeat(80) }), settings);
    expect(names.deadLetter.length).toBeLessThanOrEqual(80);
    expect(names.deadLetter).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('resolveSubscriptions', () => {
  const sub = (name: string, extra: Record<string, unknown> = {}) => ({ topicRef: { name, ...extra } });

  it('is ready for a Ready topic of its own namespace, with raw delivery and the filter policy', () => {
    const [r] = resolveSubscriptions(
      cq({ subscriptions: [{ ...sub('order-events'), filterPolicy: { eventType: ['OrderCreated'] } }] }),
      lookupOf(topic('shop', 'order-events')),
    );
    expect(r).toEqual({
      topic: { namespace: 'shop', name: 'order-events' },
      state: 'ready',
      topicArn: ARN('order-events'),
      attributes: {
        RawMessageDelivery: 'true',
        FilterPolicy: '{"eventType":["OrderCreated"]}',
        FilterPolicyScope: 'MessageAttributes',
      },
    });
  });

  it.each([
    ['a missing topic waits', [], 'waiting', 'TopicNotFound'],
    ['a topic not Ready waits', [topic('shop', 't', { ready: false })], 'waiting', 'TopicNotReady'],
  ])('%s', (_case, topics, state, reason) => {
    const [r] = resolveSubscriptions(cq({ subscriptions: [sub('t')] }), lookupOf(...topics));
    expect(r).toMatchObject({ state, reason });
  });

  it('lets a FIFO topic deliver to standard and FIFO queues, a standard topic only to standard ones', () => {
    const fifoTopic = lookupOf(topic('shop', 't', { fifo: true }));
    expect(resolveSubscriptions(cq({ subscriptions: [sub('t')] }), fifoTopic)[0]?.state).toBe('ready');
    expect(resolveSubscriptions(cq({ fifo: true, subscriptions: [sub('t')] }), fifoTopic)[0]?.state).toBe(
      'ready',
    );
    const [refused] = resolveSubscriptions(
      cq({ fifo: true, subscriptions: [sub('t')] }),
      lookupOf(topic('shop', 't')),
    );
    expect(refused).toMatchObject({ state: 'refused', reason: 'FifoMismatch' });
  });

  it('honours a cross-namespace reference only when the topic admits the namespace', () => {
    const entry = sub('t', { namespace: 'platform' });
    const refused = resolveSubscriptions(cq({ subscriptions: [entry] }), lookupOf(topic('platform', 't')));
    expect(refused[0]).toMatchObject({ state: 'refused', reason: 'TopicNotAllowed' });
    expect(refused[0]?.state === 'refused' && refused[0].message).toContain('allowedConsumerNamespaces');
    for (const allowed of [['shop'], ['*']]) {
      const ok = resolveSubscriptions(
        cq({ subscriptions: [entry] }),
        lookupOf(topic('platform', 't', { allowed })),
      );
      expect(ok[0]?.state).toBe('ready');
    }
  });
});

describe('queuePolicy', () => {
  const queue = 'arn:aws:sqs:us-east-1:123456789012:q';

  it('lets SNS send only from exactly the subscribed topics and denies access without TLS', () => {
    const policy = queuePolicy(queue, [ARN('b'), ARN('a'), ARN('b')]) as {
      Statement: Record<string, unknown>[];
    };
    expect(policy.Statement).toEqual([
      {
        Sid: 'AllowSubscribedTopics',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queue,
        Condition: { ArnEquals: { 'aws:SourceArn': [ARN('a'), ARN('b')] } },
      },
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:*',
        Resource: queue,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
  });

  it('is the same document whatever order the topics come in', () => {
    expect(JSON.stringify(queuePolicy(queue, [ARN('a'), ARN('b')]))).toBe(
      JSON.stringify(queuePolicy(queue, [ARN('b'), ARN('a')])),
    );
  });

  it('allows no sender at all without subscriptions', () => {
    const policy = queuePolicy(queue, []) as { Statement: { Sid: string }[] };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['DenyInsecureTransport']);
  });
});

describe('desiredQueues', () => {
  const names = { queue: 'q', deadLetter: 'q_dlq' };
  const arns = { queue: 'arn:aws:sqs:us-east-1:1:q', deadLetter: 'arn:aws:sqs:us-east-1:1:q_dlq' };

  it('redrives to the DLQ after maxReceiveCount, and the DLQ admits only this queue', () => {
    const d = desiredQueues(cq(), settings, names, arns, []);
    expect(d.queue.attributes).toMatchObject({
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '20',
      SqsManagedSseEnabled: 'true',
      RedrivePolicy: `{"deadLetterTargetArn":"${arns.deadLetter}","maxReceiveCount":3}`,
    });
    expect(d.deadLetter?.attributes).toMatchObject({
      MessageRetentionPeriod: '1209600',
      RedriveAllowPolicy: `{"redrivePermission":"byQueue","sourceQueueArns":["${arns.queue}"]}`,
    });
    expect(d.queue.tags).toMatchObject({
      'pubsub.ecommerce.io/uid': 'uid-q',
      'pubsub.ecommerce.io/cluster': 'prod',
    });
  });

  it('has no DLQ and clears the redrive policy when the dead letter queue is disabled', () => {
    const d = desiredQueues(cq({ deadLetter: { enabled: false } }), settings, names, arns, []);
    expect(d.deadLetter).toBeUndefined();
    expect(d.queue.attributes['RedrivePolicy']).toBe('');
  });

  it('uses the KMS key instead of SQS-managed encryption when one is given', () => {
    const d = desiredQueues(
      cq({ encryption: { kmsKeyId: 'alias/orders', kmsDataKeyReusePeriodSeconds: 600 } }),
      settings,
      names,
      arns,
      [],
    );
    expect(d.queue.attributes).toMatchObject({
      SqsManagedSseEnabled: 'false',
      KmsMasterKeyId: 'alias/orders',
      KmsDataKeyReusePeriodSeconds: '600',
    });
  });

  it('makes FIFO queues with FIFO dead-letter queues', () => {
    const d = desiredQueues(cq({ fifo: true, contentBasedDeduplication: true }), settings, names, arns, []);
    expect(d.queue.createOnly).toEqual({ FifoQueue: 'true' });
    expect(d.deadLetter?.createOnly).toEqual({ FifoQueue: 'true' });
    expect(d.queue.attributes['ContentBasedDeduplication']).toBe('true');
  });
});

describe('planSubscriptions', () => {
  const want = (name: string, attributes: Record<string, string> = { RawMessageDelivery: 'true' }) => ({
    topic: { namespace: 'shop', name },
    state: 'ready' as const,
    topicArn: ARN(name),
    attributes,
  });

  it('subscribes to new topics and unsubscribes from topics no longer wanted', () => {
    const plan = planSubscriptions([want('a')], [{ arn: 'sub-b', topicArn: ARN('b'), attributes: {} }]);
    expect(plan).toEqual({
      create: [{ topicArn: ARN('a'), attributes: { RawMessageDelivery: 'true' } }],
      update: [],
      remove: ['sub-b'],
    });
  });

  it('does nothing at steady state', () => {
    const plan = planSubscriptions(
      [
        want('a', {
          RawMessageDelivery: 'true',
          FilterPolicy: '{"a":["1"],"b":["2"]}',
          FilterPolicyScope: 'MessageAttributes',
        }),
      ],
      [
        {
          arn: 'sub-a',
          topicArn: ARN('a'),
          attributes: {
            RawMessageDelivery: 'true',
            FilterPolicy: '{"b": ["2"], "a": ["1"]}',
            FilterPolicyScope: 'MessageAttributes',
          },
        },
      ],
    );
    expect(plan).toEqual({ create: [], update: [], remove: [] });
  });

  it('repairs drift and clears a filter policy removed from the spec with {}', () => {
    const plan = planSubscriptions(
      [want('a')],
      [
        {
          arn: 'sub-a',
          topicArn: ARN('a'),
          attributes: { RawMessageDelivery: 'false', FilterPolicy: '{"x":["y"]}' },
        },
      ],
    );
    expect(plan.update).toEqual([
      { arn: 'sub-a', delta: { FilterPolicy: '{}', RawMessageDelivery: 'true' } },
    ]);
  });

  it('removes a second subscription of the same queue to one topic', () => {
    const existing = { topicArn: ARN('a'), attributes: { RawMessageDelivery: 'true' } };
    const plan = planSubscriptions(
      [want('a')],
      [
        { arn: 's1', ...existing },
        { arn: 's2', ...existing },
      ],
    );
    expect(plan.remove).toEqual(['s2']);
  });
});
