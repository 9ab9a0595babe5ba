import { describe, expect, it } from 'vitest';
import { deadLetterPolicy, desiredQueues, queueNames, queuePolicy } from './desired.ts';
import { ARN, cq, settings } from './testing.ts';

const OWNER = { uid: 'uid-1' };

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

describe('queuePolicy', () => {
  const queue = 'arn:aws:sqs:us-east-1:123456789012:q';

  it('lets SNS send only from exactly the subscribed topics and denies access without TLS', () => {
    const policy = queuePolicy(queue, OWNER, [ARN('b'), ARN('a'), ARN('b')]) as {
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
    expect(JSON.stringify(queuePolicy(queue, OWNER, [ARN('a'), ARN('b')]))).toBe(
      JSON.stringify(queuePolicy(queue, OWNER, [ARN('b'), ARN('a')])),
    );
  });

  it('names the object that owns it in its Id, so a create of the same queue for another object is refused', () => {
    expect(queuePolicy(queue, OWNER, [])['Id']).toBe(`${queue}/pubsub-operator/uid-1`);
    expect(queuePolicy(queue, { uid: 'uid-2' }, [])['Id']).not.toBe(queuePolicy(queue, OWNER, [])['Id']);
  });

  it('allows no sender at all without subscriptions', () => {
    const policy = queuePolicy(queue, OWNER, []) as { Statement: { Sid: string }[] };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['DenyInsecureTransport']);
  });
});

describe('desiredQueues', () => {
  const none = { queue: [], deadLetter: [] };
  const names = { queue: 'q', deadLetter: 'q_dlq' };
  const arns = { queue: 'arn:aws:sqs:us-east-1:1:q', deadLetter: 'arn:aws:sqs:us-east-1:1:q_dlq' };

  it('redrives to the DLQ after maxReceiveCount, and the DLQ admits only this queue', () => {
    const d = desiredQueues(cq(), settings, names, arns, none);
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
    const d = desiredQueues(cq({ deadLetter: { enabled: false } }), settings, names, arns, none);
    expect(d.deadLetter).toBeUndefined();
    expect(d.queue.attributes['RedrivePolicy']).toBe('');
  });

  it('uses the KMS key instead of SQS-managed encryption when one is given', () => {
    const d = desiredQueues(
      cq({ encryption: { kmsKeyId: 'alias/orders', kmsDataKeyReusePeriodSeconds: 600 } }),
      settings,
      names,
      arns,
      none,
    );
    expect(d.queue.attributes).toMatchObject({
      SqsManagedSseEnabled: 'false',
      KmsMasterKeyId: 'alias/orders',
      KmsDataKeyReusePeriodSeconds: '600',
    });
  });

  it('makes FIFO queues with FIFO dead-letter queues', () => {
    const d = desiredQueues(cq({ fifo: true, contentBasedDeduplication: true }), settings, names, arns, none);
    expect(d.queue.createOnly).toEqual({ FifoQueue: 'true' });
    expect(d.deadLetter?.createOnly).toEqual({ FifoQueue: 'true' });
    expect(d.queue.attributes['ContentBasedDeduplication']).toBe('true');
  });
});

describe('deadLetterPolicy', () => {
  it('lets SNS redrive into the DLQ only from the given topics', () => {
    const dlq = 'arn:aws:sqs:us-east-1:123456789012:q_dlq';
    const policy = deadLetterPolicy(dlq, OWNER, [ARN('a')]) as { Statement: Record<string, unknown>[] };
    expect(policy.Statement[0]).toMatchObject({
      Sid: 'AllowSnsRedrive',
      Principal: { Service: 'sns.amazonaws.com' },
      Resource: dlq,
      Condition: { ArnEquals: { 'aws:SourceArn': [ARN('a')] } },
    });
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['AllowSnsRedrive', 'DenyInsecureTransport']);
  });
});
