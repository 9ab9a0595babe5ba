// The EventTopic and ConsumerQueue controllers, run as the real operator process against the
// bed's kube-apiserver and moto: create, update, delete, fan-out, redrive, drift repair, foreign
// resources, blocked deletion and cross-namespace references.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import {
  GetTopicAttributesCommand,
  ListTagsForResourceCommand,
  PublishCommand,
  SetTopicAttributesCommand,
} from '@aws-sdk/client-sns';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';
import { crdTestNamespace } from './support/crds.ts';
import {
  applyObject,
  conditionOf,
  deleteAll,
  deleteObject,
  getObject,
  queueAttributes,
  queueTags,
  queueUrl,
  sns,
  sqs,
  subscriptionsTo,
  waitForCondition,
  waitGone,
} from './support/controllers.ts';
import { eventsAbout } from './support/cloudwatch.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('ctl');
const other = uniqueName('ctl-other');
const cluster = uniqueName('cluster');
const physical = (name: string, suffix = '') => `pubsub_${ns}_${name}${suffix}`;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: other } } });
  operator = await startOperator({
    namespaces: [ns, other],
    clusterName: cluster,
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await deleteAll(other, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name: other });
});

async function receive(url: string, waitSeconds = 1, visibility?: number): Promise<string[]> {
  const { Messages = [] } = await sqs().send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      ...(visibility !== undefined ? { VisibilityTimeout: visibility } : {}),
    }),
  );
  return Messages.map((m) => m.Body ?? '');
}

describe('a topic and a subscribed queue', () => {
  it('become an SNS topic and an SQS queue with its DLQ, tags, redrive and a queue policy for exactly that topic', async () => {
    applyObject(ns, 'eventtopics', 'orders', { displayName: 'Orders', tags: { team: 'orders' } });
    applyObject(ns, 'consumerqueues', 'payments', {
      deadLetter: { maxReceiveCount: 2 },
      subscriptions: [{ topicRef: { name: 'orders' }, filterPolicy: { eventType: ['OrderCreated'] } }],
    });
    const topic = await waitForCondition(ns, 'eventtopics', 'orders', 'Ready', 'True');
    const queue = await waitForCondition(ns, 'consumerqueues', 'payments', 'Ready', 'True');
    expect(conditionOf(queue, 'Synced')?.status).toBe('True');

    const topicArn = String(topic.status?.['topicArn']);
    expect(topicArn.endsWith(`:${physical('orders')}`)).toBe(true);
    const attrs = (await sns().send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes ?? {};
    expect(attrs['DisplayName']).toBe('Orders');
    const { Tags = [] } = await sns().send(new ListTagsForResourceCommand({ ResourceArn: topicArn }));
    expect(Object.fromEntries(Tags.map((t) => [t.Key, t.Value]))).toMatchObject({
      team: 'orders',
      'pubsub.ecommerce.io/managed-by': 'pubsub-operator',
      'pubsub.ecommerce.io/cluster': cluster,
      'pubsub.ecommerce.io/namespace': ns,
      'pubsub.ecommerce.io/name': 'orders',
      'pubsub.ecommerce.io/uid': topic.metadata.uid,
    });

    const status = queue.status as Record<string, string>;
    expect(status['queueUrl']).toBe(await queueUrl(physical('payments')));
    expect(status['deadLetterQueueUrl']).toBe(await queueUrl(physical('payments', '_dlq')));
    const q = await queueAttributes(status['queueUrl'] ?? '');
    expect(JSON.parse(q['RedrivePolicy'] ?? '{}')).toEqual({
      deadLetterTargetArn: status['deadLetterQueueArn'],
      maxReceiveCount: 2,
    });
    expect(q).toMatchObject({
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '20',
      SqsManagedSseEnabled: 'true',
    });
    expect(await queueTags(status['queueUrl'] ?? '')).toMatchObject({
      'pubsub.ecommerce.io/uid': queue.metadata.uid,
    });

    // moto does not enforce queue policies, so the generated one is checked by reading it.
    const policy = JSON.parse(q['Policy'] ?? '{}') as {
      Statement: {
        Sid: string;
        Effect: string;
        Principal: unknown;
        Action: string;
        Resource: string;
        Condition: Record<string, Record<string, unknown>>;
      }[];
    };
    const allow = policy.Statement.find((s) => s.Effect === 'Allow');
    expect(allow).toMatchObject({
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: status['queueArn'],
    });
    expect(allow?.Condition['ArnEquals']?.['aws:SourceArn']).toEqual([topicArn]);
    const deny = policy.Statement.find((s) => s.Effect === 'Deny');
    expect(deny).toMatchObject({
      Principal: '*',
      Action: 'sqs:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(policy.Statement).toHaveLength(2);

    // What was made, as `kubectl describe` shows it: the queue and its DLQ in one Event.
    const made = await eventually(
      () => {
        const events = eventsAbout(ns, 'payments').filter((e) => e.type === 'Normal');
        return Promise.resolve(events.some((e) => e.reason === 'Subscribed') ? events : undefined);
      },
      { what: 'the Events of the queue' },
    );
    expect(made.map((e) => e.reason).sort()).toEqual(['Created', 'Subscribed']);
    expect(made.find((e) => e.reason === 'Created')?.note).toBe(
      `Created SQS queue ${physical('payments')} and its dead-letter queue ${physical('payments', '_dlq')}`,
    );
  });

  it('fans published events out through the filter policy, and redrives a failing one to the DLQ', async () => {
    // A second queue on the same topic, without a filter: it gets every event.
    applyObject(ns, 'consumerqueues', 'audit', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    const audit = await waitForCondition(ns, 'consumerqueues', 'audit', 'Ready', 'True');
    const topic = await getObject(ns, 'eventtopics', 'orders');
    const queue = await getObject(ns, 'consumerqueues', 'payments');
    const topicArn = String(topic?.status?.['topicArn']);
    const url = String(queue?.status?.['queueUrl']);
    const dlq = String(queue?.status?.['deadLetterQueueUrl']);
    const publish = (body: string, eventType: string) =>
      sns().send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: body,
          MessageAttributes: { eventType: { DataType: 'String', StringValue: eventType } },
        }),
      );
    await publish('cancelled', 'OrderCancelled');
    await publish('created', 'OrderCreated');
    const everything = await eventually(
      async () => {
        const bodies = await receive(String(audit.status?.['queueUrl']), 1);
        return bodies.length === 2 ? bodies.sort() : undefined;
      },
      { what: 'both events on the unfiltered queue' },
    );
    expect(everything).toEqual(['cancelled', 'created']);
    // Raw delivery (the default): the body arrives as published, not in an SNS envelope.
    expect(await receive(url, 2, 0)).toEqual(['created']);
    // Received twice already (maxReceiveCount 2, visibility 0): the next receive moves it to the DLQ.
    expect(await receive(url, 1, 0)).toEqual(['created']);
    expect(await receive(url, 1, 0)).toEqual([]);
    expect(await receive(dlq, 1)).toEqual(['created']);
  });

  it('applies spec updates: attributes, filter policy, and a removed subscription', async () => {
    applyObject(ns, 'eventtopics', 'refunds', {});
    await waitForCondition(ns, 'eventtopics', 'refunds', 'Ready', 'True');
    applyObject(ns, 'consumerqueues', 'payments', {
      visibilityTimeoutSeconds: 45,
      deadLetter: { maxReceiveCount: 5 },
      subscriptions: [{ topicRef: { name: 'refunds' }, rawMessageDelivery: false }],
    });
    const queue = await waitForCondition(ns, 'consumerqueues', 'payments', 'Ready', 'True');
    const status = queue.status as {
      queueUrl: string;
      queueArn: string;
      subscriptions: { topicArn: string }[];
    };
    const q = await queueAttributes(status.queueUrl);
    expect(q['VisibilityTimeout']).toBe('45');
    expect(JSON.parse(q['RedrivePolicy'] ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    const orders = String((await getObject(ns, 'eventtopics', 'orders'))?.status?.['topicArn']);
    const refunds = String((await getObject(ns, 'eventtopics', 'refunds'))?.status?.['topicArn']);
    expect(status.subscriptions.map((s) => s.topicArn)).toEqual([refunds]);
    expect(await subscriptionsTo(orders, status.queueArn)).toEqual([]);
    expect(await subscriptionsTo(refunds, status.queueArn)).toHaveLength(1);
    const policy = JSON.parse(q['Policy'] ?? '{}') as {
      Statement: { Condition?: { ArnEquals?: Record<string, string[]> } }[];
    };
    expect(policy.Statement[0]?.Condition?.ArnEquals?.['aws:SourceArn']).toEqual([refunds]);
  });
});

describe('dead-letter queue switched off', () => {
  it('clears the redrive policy and the DLQ fields, and keeps the old DLQ', async () => {
    applyObject(ns, 'consumerqueues', 'plain', {});
    const before = await waitForCondition(ns, 'consumerqueues', 'plain', 'Ready', 'True');
    const oldDlq = String(before.status?.['deadLetterQueueUrl']);
    applyObject(ns, 'consumerqueues', 'plain', { deadLetter: { enabled: false } });
    const after = await waitForCondition(ns, 'consumerqueues', 'plain', 'Ready', 'True');
    expect(after.status?.['deadLetterQueueUrl']).toBeUndefined();
    const attributes = await queueAttributes(String(after.status?.['queueUrl']));
    expect(attributes['RedrivePolicy']).toBeUndefined();
    // The update carried the queue policy along, so an endpoint that drops it on updates (moto) keeps it.
    expect(attributes['Policy']).toContain('DenyInsecureTransport');
    expect(await queueUrl(physical('plain', '_dlq'))).toBe(oldDlq);
  });
});

describe('drift', () => {
  it('applies a topic spec change and reverts a topic attribute changed out of band', async () => {
    applyObject(ns, 'eventtopics', 'orders', { displayName: 'Orders v2', tags: { team: 'orders' } });
    const topicArn = String((await getObject(ns, 'eventtopics', 'orders'))?.status?.['topicArn']);
    const displayName = async () =>
      (await sns().send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes?.['DisplayName'];
    await eventually(async () => ((await displayName()) === 'Orders v2' ? true : undefined), {
      what: 'the new display name',
    });
    await sns().send(
      new SetTopicAttributesCommand({
        TopicArn: topicArn,
        AttributeName: 'DisplayName',
        AttributeValue: 'by hand',
      }),
    );
    await eventually(async () => ((await displayName()) === 'Orders v2' ? true : undefined), {
      timeoutMs: 40_000,
      what: 'the display name restored at resync',
    });
  });

  it('reverts an attribute changed out of band at the next resync', async () => {
    const url = String((await getObject(ns, 'consumerqueues', 'payments'))?.status?.['queueUrl']);
    await sqs().send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '999' } }),
    );
    await eventually(
      async () => ((await queueAttributes(url))['VisibilityTimeout'] === '45' ? true : undefined),
      {
        timeoutMs: 40_000,
        what: 'VisibilityTimeout back to 45',
      },
    );
  });

  it('recreates a queue deleted out of band', async () => {
    const url = String((await getObject(ns, 'consumerqueues', 'payments'))?.status?.['queueUrl']);
    await sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
    await eventually(async () => ((await queueUrl(physical('payments'))) ? true : undefined), {
      timeoutMs: 40_000,
      what: 'the queue to be recreated',
    });
    const q = await queueAttributes(url);
    expect(q['VisibilityTimeout']).toBe('45');
    expect(q['RedrivePolicy']).toContain(physical('payments', '_dlq'));
  });
});

describe('ownership', () => {
  it('leaves a same-named queue it does not own untouched, with a terminal condition, even on delete', async () => {
    const name = physical('squatter');
    const { QueueUrl } = await sqs().send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: '7' },
        tags: { owner: 'someone-else' },
      }),
    );
    applyObject(ns, 'consumerqueues', 'squatter', { deadLetter: { enabled: false } });
    const cq = await waitForCondition(ns, 'consumerqueues', 'squatter', 'Ready', 'False', 'NotOwned');
    expect(conditionOf(cq, 'Ready')?.message).toContain('not managed by pubsub-operator');
    expect(await queueAttributes(QueueUrl ?? '')).toMatchObject({ VisibilityTimeout: '7' });
    expect(await queueTags(QueueUrl ?? '')).toEqual({ owner: 'someone-else' });

    await deleteObject(ns, 'consumerqueues', 'squatter');
    await waitGone(ns, 'consumerqueues', 'squatter');
    expect(await queueUrl(name)).toBe(QueueUrl);
    await sqs().send(new DeleteQueueCommand({ QueueUrl }));
  });
});

describe('cross-namespace subscriptions', () => {
  it('are refused until the topic lists the namespace, then subscribed', async () => {
    applyObject(other, 'eventtopics', 'shared', {});
    await waitForCondition(other, 'eventtopics', 'shared', 'Ready', 'True');
    applyObject(ns, 'consumerqueues', 'listener', {
      subscriptions: [{ topicRef: { name: 'shared', namespace: other } }],
    });
    const refused = await waitForCondition(
      ns,
      'consumerqueues',
      'listener',
      'Ready',
      'False',
      'TopicNotAllowed',
    );
    expect(conditionOf(refused, 'Ready')?.message).toContain(`does not list namespace ${ns}`);

    applyObject(other, 'eventtopics', 'shared', { allowedConsumerNamespaces: [ns] });
    const ready = await waitForCondition(ns, 'consumerqueues', 'listener', 'Ready', 'True');
    const status = ready.status as { queueArn: string; subscriptions: { topicArn: string }[] };
    expect(await subscriptionsTo(status.subscriptions[0]?.topicArn ?? '', status.queueArn)).toHaveLength(1);
  });

  it('wait for a topic that does not exist yet, as a condition rather than an error', async () => {
    applyObject(ns, 'consumerqueues', 'early', { subscriptions: [{ topicRef: { name: 'later' } }] });
    await waitForCondition(ns, 'consumerqueues', 'early', 'Ready', 'False', 'TopicNotFound');
    const early = await getObject(ns, 'consumerqueues', 'early');
    expect(conditionOf(early, 'Synced')?.status).toBe('True');
    applyObject(ns, 'eventtopics', 'later', {});
    await waitForCondition(ns, 'consumerqueues', 'early', 'Ready', 'True');
  });
});

describe('deletion', () => {
  it('keeps a queue that holds messages until the user allows it, then tears down in order', async () => {
    applyObject(ns, 'consumerqueues', 'full', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    const cq = await waitForCondition(ns, 'consumerqueues', 'full', 'Ready', 'True');
    const status = cq.status as {
      queueUrl: string;
      queueArn: string;
      deadLetterQueueUrl: string;
      subscriptions: { topicArn: string }[];
    };
    await sqs().send(new SendMessageCommand({ QueueUrl: status.queueUrl, MessageBody: 'precious' }));

    await deleteObject(ns, 'consumerqueues', 'full');
    const blocked = await waitForCondition(ns, 'consumerqueues', 'full', 'Ready', 'False', 'DeletionBlocked');
    expect(conditionOf(blocked, 'Ready')?.message).toContain(
      'pubsub.ecommerce.io/allow-delete-with-messages',
    );
    expect(await queueUrl(physical('full'))).toBe(status.queueUrl);

    applyObject(
      ns,
      'consumerqueues',
      'full',
      { subscriptions: [{ topicRef: { name: 'orders' } }] },
      {
        annotations: { 'pubsub.ecommerce.io/allow-delete-with-messages': 'true' },
      },
    );
    await waitGone(ns, 'consumerqueues', 'full', 60_000);
    expect(await queueUrl(physical('full'))).toBeUndefined();
    expect(await queueUrl(physical('full', '_dlq'))).toBeUndefined();
    expect(await subscriptionsTo(status.subscriptions[0]?.topicArn ?? '', status.queueArn)).toEqual([]);
  });

  it('keeps AWS resources with deletionPolicy Retain and deletes them with Delete', async () => {
    applyObject(ns, 'eventtopics', 'kept', { deletionPolicy: 'Retain' });
    applyObject(ns, 'eventtopics', 'dropped', {});
    const kept = await waitForCondition(ns, 'eventtopics', 'kept', 'Ready', 'True');
    const dropped = await waitForCondition(ns, 'eventtopics', 'dropped', 'Ready', 'True');
    await deleteObject(ns, 'eventtopics', 'kept');
    await deleteObject(ns, 'eventtopics', 'dropped');
    await waitGone(ns, 'eventtopics', 'kept');
    await waitGone(ns, 'eventtopics', 'dropped');
    const exists = async (arn: unknown) =>
      sns()
        .send(new GetTopicAttributesCommand({ TopicArn: String(arn) }))
        .then(
          () => true,
          () => false,
        );
    expect(await exists(kept.status?.['topicArn'])).toBe(true);
    expect(await exists(dropped.status?.['topicArn'])).toBe(false);
  });
});
