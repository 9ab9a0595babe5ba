// The topic and queue gateways against moto: create / read / update(delta) / delete round trips
// with ownership tags, what a foreign or unmanaged resource reads as, subscriptions, the backlog,
// and what each operation costs in AWS calls.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import {
  attributeDelta,
  AwsCallCounter,
  createAwsGateways,
  describeOwner,
  ownershipOf,
  ownershipTags,
  queueName,
  tagChanges,
  topicName,
  type AwsGateways,
  type AwsSettings,
  type DesiredAttributes,
  type Owner,
} from '../../src/aws/index.ts';
import { awsClientConfig, uniqueName } from './support/bed.ts';

const bed = awsClientConfig();
const settings: AwsSettings = {
  region: bed.region,
  endpoint: bed.endpoint,
  retryMode: 'standard',
  maxAttempts: 3,
  connectTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
};
const counter = new AwsCallCounter();
let aws: AwsGateways;
const namespace = uniqueName('aws-it');
const owner = (name: string): Owner => ({ cluster: 'it', namespace, name, uid: `uid-${name}` });
const created = { topics: [] as string[], queues: [] as string[] };

beforeAll(async () => {
  aws = createAwsGateways(settings, { observer: counter, credentials: bed.credentials });
  // Learn the account id now, so the STS call does not count against the first test.
  await aws.account.accountId();
});
beforeEach(() => counter.reset());
afterAll(async () => {
  for (const url of created.queues) await aws.queues.deleteQueue(url);
  for (const arn of created.topics) await aws.topics.deleteTopic(arn);
  aws.clients.destroy();
});

describe('topics', () => {
  it('create / read / update(delta) / delete with ownership tags, and the calls each costs', async () => {
    const me = owner('orders');
    const name = topicName({ prefix: 'it', namespace, name: 'orders', fifo: false });
    const arn = await aws.topics.topicArn(name);
    expect(arn).toBe(`arn:aws:sns:${settings.region}:123456789012:${name}`);
    expect(counter.count()).toBe(0);

    expect(await aws.topics.readTopic(name)).toBeUndefined();
    expect(counter.byOperation()).toEqual({ 'sns:GetTopicAttributes': 1 });

    const desired: DesiredAttributes = { DisplayName: 'Order events' };
    counter.reset();
    expect(await aws.topics.createTopic(name, desired, { ...ownershipTags(me), team: 'orders' })).toBe(arn);
    created.topics.push(arn);
    expect(counter.byOperation()).toEqual({ 'sns:CreateTopic': 1 });

    counter.reset();
    const topic = await aws.topics.readTopic(name);
    expect(counter.byOperation()).toEqual({ 'sns:GetTopicAttributes': 1, 'sns:ListTagsForResource': 1 });
    expect(topic?.arn).toBe(arn);
    expect(topic?.attributes['DisplayName']).toBe('Order events');
    expect(ownershipOf(topic?.tags ?? {}, me)).toBe('ours');
    expect(attributeDelta(desired, topic?.attributes ?? {})).toEqual({});

    const changed: DesiredAttributes = { DisplayName: 'Orders' };
    const delta = attributeDelta(changed, topic?.attributes ?? {});
    expect(delta).toEqual({ DisplayName: 'Orders' });
    counter.reset();
    await aws.topics.setTopicAttributes(arn, delta);
    await aws.topics.setTopicAttributes(arn, attributeDelta(desired, { DisplayName: 'Order events' }));
    expect(counter.byOperation()).toEqual({ 'sns:SetTopicAttributes': 1 });

    const tags = tagChanges({ ...ownershipTags(me), cost: 'c1' }, topic?.tags ?? {}, ['team']);
    expect(tags).toEqual({ set: { cost: 'c1' }, remove: ['team'] });
    await aws.topics.tagTopic(arn, tags.set);
    await aws.topics.untagTopic(arn, tags.remove);

    const updated = await aws.topics.readTopic(name);
    expect(attributeDelta(changed, updated?.attributes ?? {})).toEqual({});
    expect(updated?.tags).toEqual({ ...ownershipTags(me), cost: 'c1' });

    counter.reset();
    await aws.topics.deleteTopic(arn);
    expect(await aws.topics.readTopic(name)).toBeUndefined();
    await aws.topics.deleteTopic(arn);
    expect(counter.byOperation()).toEqual({ 'sns:DeleteTopic': 2, 'sns:GetTopicAttributes': 1 });
  });

  it('creates a FIFO topic whose attributes read back without a delta', async () => {
    const name = topicName({ prefix: 'it', namespace, name: 'payments', fifo: true });
    const desired: DesiredAttributes = { FifoTopic: true, ContentBasedDeduplication: true };
    const arn = await aws.topics.createTopic(name, desired, ownershipTags(owner('payments')));
    created.topics.push(arn);
    expect(arn).toMatch(/\.fifo$/);
    const topic = await aws.topics.readTopic(name);
    expect(attributeDelta(desired, topic?.attributes ?? {})).toEqual({});
    expect(attributeDelta({ ...desired, ContentBasedDeduplication: false }, topic?.attributes ?? {})).toEqual(
      {
        ContentBasedDeduplication: 'false',
      },
    );
  });

  it('reads a same-named topic of another owner as foreign, and an untagged one as unmanaged', async () => {
    const me = owner('shared');
    const foreignName = topicName({ prefix: 'it', namespace, name: 'shared', fifo: false });
    const other = ownershipTags({ ...me, uid: 'an-earlier-uid' });
    const { TopicArn } = await aws.clients.sns.send(
      new CreateTopicCommand({
        Name: foreignName,
        Tags: Object.entries(other).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    created.topics.push(TopicArn ?? '');
    const foreign = await aws.topics.readTopic(foreignName);
    expect(ownershipOf(foreign?.tags ?? {}, me)).toBe('foreign');
    expect(describeOwner('SNS topic', foreignName, foreign?.tags ?? {})).toContain('(uid an-earlier-uid)');

    const plainName = topicName({ prefix: 'it', namespace, name: 'plain', fifo: false });
    const plain = await aws.clients.sns.send(new CreateTopicCommand({ Name: plainName }));
    created.topics.push(plain.TopicArn ?? '');
    const unmanaged = await aws.topics.readTopic(plainName);
    expect(ownershipOf(unmanaged?.tags ?? {}, owner('plain'))).toBe('unmanaged');
  });
});

describe('queues', () => {
  it('create / read / update(delta) / delete with ownership tags, and the calls each costs', async () => {
    const me = owner('payments');
    const name = queueName({ prefix: 'it', namespace, name: 'payments', fifo: false });
    expect(await aws.queues.readQueue(name)).toBeUndefined();
    expect(counter.byOperation()).toEqual({ 'sqs:GetQueueUrl': 1 });

    const desired: DesiredAttributes = {
      VisibilityTimeout: 30,
      MessageRetentionPeriod: 345_600,
      ReceiveMessageWaitTimeSeconds: 20,
      SqsManagedSseEnabled: true,
    };
    counter.reset();
    const { url, arn } = await aws.queues.createQueue(name, desired, ownershipTags(me));
    created.queues.push(url);
    expect(counter.byOperation()).toEqual({ 'sqs:CreateQueue': 1 });
    expect(arn).toBe(`arn:aws:sqs:${settings.region}:123456789012:${name}`);

    counter.reset();
    const queue = await aws.queues.readQueue(name);
    expect(counter.byOperation()).toEqual({
      'sqs:GetQueueUrl': 1,
      'sqs:GetQueueAttributes': 1,
      'sqs:ListQueueTags': 1,
    });
    expect(queue).toMatchObject({ url, arn });
    expect(ownershipOf(queue?.tags ?? {}, me)).toBe('ours');
    expect(attributeDelta(desired, queue?.attributes ?? {})).toEqual({});

    const changed = { ...desired, VisibilityTimeout: 60 };
    const delta = attributeDelta(changed, queue?.attributes ?? {});
    expect(delta).toEqual({ VisibilityTimeout: '60' });
    counter.reset();
    await aws.queues.setQueueAttributes(url, delta);
    await aws.queues.setQueueAttributes(url, {});
    expect(counter.byOperation()).toEqual({ 'sqs:SetQueueAttributes': 1 });

    await aws.queues.tagQueue(url, { team: 'payments' });
    await aws.queues.untagQueue(url, ['team']);
    const updated = await aws.queues.readQueue(name);
    expect(attributeDelta(changed, updated?.attributes ?? {})).toEqual({});
    expect(updated?.tags).toEqual(ownershipTags(me));

    counter.reset();
    await aws.queues.deleteQueue(url);
    expect(await aws.queues.readQueue(name)).toBeUndefined();
    await aws.queues.deleteQueue(url);
    expect(counter.byOperation()).toEqual({ 'sqs:DeleteQueue': 2, 'sqs:GetQueueUrl': 1 });
  });

  it('reads a redrive policy and a queue policy back without a delta, whatever the key order', async () => {
    const dlq = await aws.queues.createQueue(
      queueName({ prefix: 'it', namespace, name: 'orders', suffix: 'dlq', fifo: false }),
      { MessageRetentionPeriod: 1_209_600 },
      ownershipTags(owner('orders')),
    );
    created.queues.push(dlq.url);
    const name = queueName({ prefix: 'it', namespace, name: 'orders', fifo: false });
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'topics',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: `arn:aws:sqs:${settings.region}:123456789012:${name}`,
          Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:123456789012:t' } },
        },
      ],
    };
    const desired: DesiredAttributes = {
      RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: dlq.arn },
      Policy: policy,
    };
    const queue = await aws.queues.createQueue(name, desired, ownershipTags(owner('orders')));
    created.queues.push(queue.url);

    const actual = (await aws.queues.readQueue(name))?.attributes ?? {};
    expect(JSON.parse(actual['RedrivePolicy'] ?? '{}')).toEqual({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: 3,
    });
    expect(attributeDelta(desired, actual)).toEqual({});
    const reordered: DesiredAttributes = {
      Policy: JSON.stringify({ Statement: policy.Statement, Version: policy.Version }),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: '3' }),
    };
    expect(attributeDelta(reordered, actual)).toEqual({});
  });

  it('reads a same-named queue of another owner as foreign, and an untagged one as unmanaged', async () => {
    const me = owner('audit');
    const foreignName = queueName({ prefix: 'it', namespace, name: 'audit', fifo: false });
    const { QueueUrl } = await aws.clients.sqs.send(
      new CreateQueueCommand({
        QueueName: foreignName,
        tags: ownershipTags({ ...me, cluster: 'elsewhere' }),
      }),
    );
    created.queues.push(QueueUrl ?? '');
    const foreign = await aws.queues.readQueue(foreignName);
    expect(ownershipOf(foreign?.tags ?? {}, me)).toBe('foreign');
    expect(describeOwner('SQS queue', foreignName, foreign?.tags ?? {})).toContain('in cluster elsewhere');

    const plainName = queueName({ prefix: 'it', namespace, name: 'plain', fifo: false });
    const plain = await aws.clients.sqs.send(new CreateQueueCommand({ QueueName: plainName }));
    created.queues.push(plain.QueueUrl ?? '');
    expect(ownershipOf((await aws.queues.readQueue(plainName))?.tags ?? {}, owner('plain'))).toBe(
      'unmanaged',
    );
  });

  it('reads the backlog of real messages: visible, in flight and delayed, in one call', async () => {
    const { url } = await aws.queues.createQueue(
      queueName({ prefix: 'it', namespace, name: 'backlog', fifo: false }),
      { VisibilityTimeout: 300 },
      ownershipTags(owner('backlog')),
    );
    created.queues.push(url);
    expect(await aws.queues.readBacklog(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    for (const body of ['a', 'b', 'c'])
      await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await aws.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 600 }),
    );
    const { Messages } = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1 }),
    );
    expect(Messages).toHaveLength(1);

    counter.reset();
    expect(await aws.queues.readBacklog(url)).toEqual({ visible: 2, inFlight: 1, delayed: 1 });
    expect(counter.byOperation()).toEqual({ 'sqs:GetQueueAttributes': 1 });
  });
});

describe('subscriptions', () => {
  it('subscribes a queue with a filter policy and raw delivery, reads it back, updates and removes it', async () => {
    const topicArn = await aws.topics.createTopic(
      topicName({ prefix: 'it', namespace, name: 'events', fifo: false }),
      {},
      ownershipTags(owner('events')),
    );
    created.topics.push(topicArn);
    const queue = await aws.queues.createQueue(
      queueName({ prefix: 'it', namespace, name: 'listener', fifo: false }),
      {},
      ownershipTags(owner('listener')),
    );
    created.queues.push(queue.url);

    const desired: DesiredAttributes = {
      FilterPolicy: { eventType: ['OrderCreated'], source: ['shop'] },
      FilterPolicyScope: 'MessageAttributes',
      RawMessageDelivery: true,
    };
    counter.reset();
    const subscriptionArn = await aws.topics.subscribe(topicArn, queue.arn, desired);
    expect(counter.byOperation()).toEqual({ 'sns:Subscribe': 1 });
    expect(subscriptionArn).toMatch(new RegExp(`^${topicArn}:`));

    const listed = await aws.topics.listSubscriptionsByTopic(topicArn);
    expect(listed).toEqual([{ arn: subscriptionArn, topicArn, protocol: 'sqs', endpoint: queue.arn }]);

    const read = await aws.topics.readSubscription(subscriptionArn);
    expect(read).toMatchObject({ arn: subscriptionArn, topicArn, protocol: 'sqs', endpoint: queue.arn });
    expect(read?.attributes['RawMessageDelivery']).toBe('true');
    expect(attributeDelta(desired, read?.attributes ?? {})).toEqual({});

    const narrower: DesiredAttributes = { ...desired, FilterPolicy: { eventType: ['OrderCancelled'] } };
    const delta = attributeDelta(narrower, read?.attributes ?? {});
    expect(Object.keys(delta)).toEqual(['FilterPolicy']);
    counter.reset();
    await aws.topics.setSubscriptionAttributes(subscriptionArn, delta);
    expect(counter.byOperation()).toEqual({ 'sns:SetSubscriptionAttributes': 1 });
    const after = await aws.topics.readSubscription(subscriptionArn);
    expect(attributeDelta(narrower, after?.attributes ?? {})).toEqual({});

    await aws.topics.unsubscribe(subscriptionArn);
    expect(await aws.topics.readSubscription(subscriptionArn)).toBeUndefined();
    expect(await aws.topics.listSubscriptionsByTopic(topicArn)).toEqual([]);
    await aws.topics.unsubscribe(subscriptionArn);
  });
});
