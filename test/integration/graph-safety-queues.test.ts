// The ConsumerQueue under partial failure, on the bed: each part reported on its own, one action
// per canonical topic, subscriptions found from AWS, deletion that drains, a topic that goes away,
// SNS redrive into the DLQ, tags removed from AWS, and consent to publish for the alarms' topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  PublishCommand,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { TagResourceCommand } from '@aws-sdk/client-cloudwatch';
import { eventually, kubeConfig, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl, withoutAdmissionPolicies } from './support/crds.ts';
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
  waitForCondition,
  waitGone,
  type Resource,
} from './support/controllers.ts';
import { alarmTags, cloudwatch, describeAlarm, eventsAbout } from './support/cloudwatch.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('gsq');
const other = uniqueName('gsq-other');
const cluster = uniqueName('gsq');
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
  for (const namespace of [ns, other]) {
    kubectl([
      'annotate',
      '-n',
      namespace,
      'consumerqueues',
      '--all',
      'pubsub.ecommerce.io/allow-delete-with-messages=true',
      '--overwrite',
    ]);
    await deleteAll(namespace, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  }
  await operator?.stop();
  await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name: other });
});

interface EntryStatus {
  topicRef: { namespace: string; name: string };
  state?: string;
  reason?: string;
  message?: string;
  topicArn?: string;
  subscriptionArn?: string;
}

const entries = (obj: Resource | undefined): EntryStatus[] =>
  (obj?.status?.['subscriptions'] as EntryStatus[] | undefined) ?? [];

/** Waits until the queue's status satisfies `test`. */
async function waitForStatus(
  namespace: string,
  name: string,
  test: (obj: Resource) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Resource> {
  return eventually(
    async () => {
      const obj = await getObject(namespace, 'consumerqueues', name);
      return obj && test(obj) ? obj : undefined;
    },
    { timeoutMs, what },
  );
}

async function topicArnOf(namespace: string, name: string): Promise<string> {
  const topic = await waitForCondition(namespace, 'eventtopics', name, 'Ready', 'True');
  return String(topic.status?.['topicArn']);
}

/** Every subscription of the topic whose endpoint is `endpoint`. */
async function subscriptionsInto(topicArn: string, endpoint: string): Promise<string[]> {
  const { Subscriptions = [] } = await sns().send(
    new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
  );
  return Subscriptions.filter((s) => s.Endpoint === endpoint).map((s) => s.SubscriptionArn ?? '');
}

async function subscriptionAttributes(arn: string): Promise<Record<string, string>> {
  return (await sns().send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn }))).Attributes ?? {};
}

const policySources = (policy: string | undefined): string[] => {
  const doc = JSON.parse(policy ?? '{}') as {
    Statement?: { Effect: string; Condition?: { ArnEquals?: { 'aws:SourceArn'?: string[] } } }[];
  };
  return (doc.Statement ?? []).flatMap((s) =>
    s.Effect === 'Allow' ? (s.Condition?.ArnEquals?.['aws:SourceArn'] ?? []) : [],
  );
};

const reconciles = (name: string) =>
  operator.lines.filter(
    (l) => l['msg'] === 'reconciled' && l['controller'] === 'consumerqueue' && l['name'] === name,
  ).length;

/** Triggers a reconcile of the queue by annotating it and waits until it ran. */
async function reconcileAgain(namespace: string, name: string): Promise<void> {
  const before = reconciles(name);
  kubectl(['annotate', '-n', namespace, `consumerqueues/${name}`, `resync=${Date.now()}`, '--overwrite']);
  await operator.waitForLog(() => reconciles(name) > before);
}

async function drain(url: string): Promise<number> {
  const { Messages = [] } = await sqs().send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  if (Messages.length > 0)
    await sqs().send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  return Messages.length;
}

describe('ConsumerQueue under partial failure', () => {
  it('a missing topic leaves the queue with its URL and its other subscription, and the second comes once the topic exists', async () => {
    applyObject(ns, 'eventtopics', 'p2-present', {});
    const presentArn = await topicArnOf(ns, 'p2-present');
    applyObject(ns, 'consumerqueues', 'p2', {
      subscriptions: [{ topicRef: { name: 'p2-present' } }, { topicRef: { name: 'p2-later' } }],
    });
    const waiting = await waitForStatus(
      ns,
      'p2',
      (o) => entries(o)[0]?.state === 'Active' && entries(o)[1]?.state === 'Waiting',
      'p2: one entry Active, one Waiting',
    );
    const url = await queueUrl(physical('p2'));
    expect(url).toBeDefined();
    expect(waiting.status?.['queueUrl']).toBe(url);
    expect(conditionOf(waiting, 'Subscribed')).toMatchObject({ status: 'False', reason: 'TopicNotFound' });
    expect(conditionOf(waiting, 'Subscribed')?.message).toContain(`${ns}/p2-later`);
    expect(conditionOf(waiting, 'Ready')?.status).toBe('False');
    expect(conditionOf(waiting, 'Synced')?.status).toBe('True');
    const queueArn = String(waiting.status?.['queueArn']);
    expect(await subscriptionsInto(presentArn, queueArn)).toHaveLength(1);

    applyObject(ns, 'eventtopics', 'p2-later', {});
    const laterArn = await topicArnOf(ns, 'p2-later');
    const ready = await waitForCondition(ns, 'consumerqueues', 'p2', 'Ready', 'True');
    expect(conditionOf(ready, 'Subscribed')?.status).toBe('True');
    expect(await subscriptionsInto(laterArn, queueArn)).toHaveLength(1);
    expect(policySources((await queueAttributes(url ?? ''))['Policy']).sort()).toEqual(
      [presentArn, laterArn].sort(),
    );
  });

  it('a subscription SNS refuses fails on its own; the queue URL is recorded and the other entry subscribed', async () => {
    applyObject(ns, 'eventtopics', 'p2f-good', {});
    applyObject(ns, 'eventtopics', 'p2f-bad', {});
    const goodArn = await topicArnOf(ns, 'p2f-good');
    await topicArnOf(ns, 'p2f-bad');
    // A filter policy value must be an array or an object: SNS refuses a bare string.
    applyObject(ns, 'consumerqueues', 'p2f', {
      subscriptions: [
        { topicRef: { name: 'p2f-bad' }, filterPolicy: { eventType: 'OrderCreated' } },
        { topicRef: { name: 'p2f-good' } },
      ],
    });
    const failed = await waitForStatus(
      ns,
      'p2f',
      (o) => entries(o)[0]?.state === 'Failed' && entries(o)[1]?.state === 'Active',
      'p2f: the bad entry Failed, the good one Active',
    );
    expect(failed.status?.['queueUrl']).toBe(await queueUrl(physical('p2f')));
    expect(entries(failed)[0]).toMatchObject({ reason: 'AwsRefused' });
    expect(conditionOf(failed, 'Synced')).toMatchObject({ status: 'False', reason: 'AwsRefused' });
    expect(conditionOf(failed, 'Subscribed')).toMatchObject({ status: 'False', reason: 'AwsRefused' });
    expect(await subscriptionsInto(goodArn, String(failed.status?.['queueArn']))).toHaveLength(1);
  });

  it('two entries naming the same topic are acted on once, and the subscription never flaps', async () => {
    applyObject(ns, 'eventtopics', 'own-events', {});
    const topicArn = await topicArnOf(ns, 'own-events');
    // Admission refuses this list; stored before the policies existed, it is acted on once.
    await withoutAdmissionPolicies(() =>
      applyObject(ns, 'consumerqueues', 'p3', {
        subscriptions: [
          { topicRef: { name: 'own-events' } },
          { topicRef: { name: 'own-events', namespace: ns } },
        ],
      }),
    );
    const first = await waitForStatus(
      ns,
      'p3',
      (o) => entries(o)[0]?.state === 'Active' && entries(o)[1]?.state === 'Refused',
      'p3: first entry Active, second Refused',
    );
    expect(entries(first)[1]).toMatchObject({ reason: 'DuplicateTopic' });
    const queueArn = String(first.status?.['queueArn']);
    const subscription = entries(first)[0]?.subscriptionArn;
    for (let i = 0; i < 3; i++) {
      await reconcileAgain(ns, 'p3');
      expect(await subscriptionsInto(topicArn, queueArn)).toEqual([subscription]);
      expect(entries(await getObject(ns, 'consumerqueues', 'p3'))[0]?.subscriptionArn).toBe(subscription);
    }
  });

  it('subscriptions are found from AWS; an ARN written into status by hand is never unsubscribed', async () => {
    applyObject(ns, 'eventtopics', 'p4', {});
    await topicArnOf(ns, 'p4');
    // Another queue, not the operator's, subscribed to a topic this queue has nothing to do with.
    const { TopicArn: otherTopic = '' } = await sns().send(
      new CreateTopicCommand({ Name: uniqueName('p4-hand') }),
    );
    const foreign = await sqs().send(new CreateQueueCommand({ QueueName: uniqueName('p4-foreign') }));
    const foreignArn = String((await queueAttributes(foreign.QueueUrl ?? ''))['QueueArn']);
    const { SubscriptionArn: foreignSubscription } = await sns().send(
      new SubscribeCommand({
        TopicArn: otherTopic,
        Protocol: 'sqs',
        Endpoint: foreignArn,
        ReturnSubscriptionArn: true,
      }),
    );
    try {
      applyObject(ns, 'consumerqueues', 'p4', { subscriptions: [{ topicRef: { name: 'p4' } }] });
      const ready = await waitForCondition(ns, 'consumerqueues', 'p4', 'Ready', 'True');
      // Status names the foreign subscription, as the record of a removed entry would.
      kubectl([
        'patch',
        '-n',
        ns,
        'consumerqueues/p4',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            subscriptions: [
              ...entries(ready),
              {
                topicRef: { namespace: ns, name: 'gone' },
                topicArn: otherTopic,
                subscriptionArn: foreignSubscription,
              },
            ],
          },
        }),
      ]);
      await reconcileAgain(ns, 'p4');
      await reconcileAgain(ns, 'p4');
      expect(await subscriptionsInto(otherTopic, foreignArn)).toEqual([foreignSubscription]);
      const after = await getObject(ns, 'consumerqueues', 'p4');
      expect(entries(after).map((e) => e.subscriptionArn)).not.toContain(foreignSubscription);
      expect(conditionOf(after, 'Ready')?.status).toBe('True');
    } finally {
      await sns().send(new UnsubscribeCommand({ SubscriptionArn: foreignSubscription }));
      await sns().send(new DeleteTopicCommand({ TopicArn: otherTopic }));
      await sqs().send(new DeleteQueueCommand({ QueueUrl: foreign.QueueUrl }));
    }
  });

  it('a topic deleted with Retain keeps delivering (TopicGone, ARN kept in the policy); removing the entry then unsubscribes and drops it', async () => {
    applyObject(ns, 'eventtopics', 'p6', { deletionPolicy: 'Retain' });
    const topicArn = await topicArnOf(ns, 'p6');
    applyObject(ns, 'eventtopics', 'p6-stays', {});
    const staysArn = await topicArnOf(ns, 'p6-stays');
    applyObject(ns, 'consumerqueues', 'p6', {
      subscriptions: [{ topicRef: { name: 'p6' } }, { topicRef: { name: 'p6-stays' } }],
    });
    const ready = await waitForCondition(ns, 'consumerqueues', 'p6', 'Ready', 'True');
    const url = String(ready.status?.['queueUrl']);
    const queueArn = String(ready.status?.['queueArn']);

    await deleteObject(ns, 'eventtopics', 'p6');
    await waitGone(ns, 'eventtopics', 'p6');
    const gone = await waitForStatus(ns, 'p6', (o) => entries(o)[0]?.state === 'TopicGone', 'p6: TopicGone');
    expect(entries(gone)[0]?.message).toContain(topicArn);
    expect(conditionOf(gone, 'Subscribed')).toMatchObject({ status: 'False', reason: 'TopicGone' });
    await reconcileAgain(ns, 'p6');
    expect(await subscriptionsInto(topicArn, queueArn)).toHaveLength(1);
    expect(policySources((await queueAttributes(url))['Policy']).sort()).toEqual([topicArn, staysArn].sort());
    await sns().send(new PublishCommand({ TopicArn: topicArn, Message: 'still-delivered' }));
    await eventually(
      async () => {
        const { Messages = [] } = await sqs().send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        return Messages.some((m) => m.Body === 'still-delivered') ? true : undefined;
      },
      { timeoutMs: 20_000, what: 'the message of the retained topic in the queue' },
    );

    // The entry removed while its topic is gone: the subscription goes, then its policy statement.
    applyObject(ns, 'consumerqueues', 'p6', { subscriptions: [{ topicRef: { name: 'p6-stays' } }] });
    await waitForCondition(ns, 'consumerqueues', 'p6', 'Ready', 'True');
    await eventually(
      async () => ((await subscriptionsInto(topicArn, queueArn)).length === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: 'the subscription to the retained topic removed',
      },
    );
    await eventually(
      async () =>
        policySources((await queueAttributes(url))['Policy']).join() === staysArn ? true : undefined,
      { timeoutMs: 30_000, what: 'the retained topic dropped from the policy' },
    );
  });

  it('a topic recreated with another ARN is subscribed first, and only then the old subscription goes', async () => {
    const oldName = uniqueName('p6r-old');
    applyObject(ns, 'eventtopics', 'p6r', { topicName: oldName, deletionPolicy: 'Retain' });
    const oldArn = await topicArnOf(ns, 'p6r');
    applyObject(ns, 'consumerqueues', 'p6r', { subscriptions: [{ topicRef: { name: 'p6r' } }] });
    const ready = await waitForCondition(ns, 'consumerqueues', 'p6r', 'Ready', 'True');
    const url = String(ready.status?.['queueUrl']);
    const queueArn = String(ready.status?.['queueArn']);
    await deleteObject(ns, 'eventtopics', 'p6r');
    await waitGone(ns, 'eventtopics', 'p6r');
    await waitForStatus(ns, 'p6r', (o) => entries(o)[0]?.state === 'TopicGone', 'p6r: TopicGone');

    applyObject(ns, 'eventtopics', 'p6r', { topicName: uniqueName('p6r-new') });
    const newArn = await topicArnOf(ns, 'p6r');
    expect(newArn).not.toBe(oldArn);
    const moved = await waitForStatus(
      ns,
      'p6r',
      (o) =>
        entries(o)[0]?.state === 'Active' && entries(o)[0]?.topicArn === newArn && entries(o).length === 1,
      'p6r: subscribed to the new ARN',
    );
    expect(conditionOf(moved, 'Ready')?.status).toBe('True');
    expect(await subscriptionsInto(newArn, queueArn)).toHaveLength(1);
    expect(await subscriptionsInto(oldArn, queueArn)).toHaveLength(0);
    expect(policySources((await queueAttributes(url))['Policy'])).toEqual([newArn]);
    await sns().send(new DeleteTopicCommand({ TopicArn: oldArn }));
  });

  it('deletion removes the subscriptions first, then waits for the queue to drain while a publisher keeps publishing', async () => {
    applyObject(ns, 'eventtopics', 'p5', {});
    const topicArn = await topicArnOf(ns, 'p5');
    applyObject(ns, 'consumerqueues', 'p5', { subscriptions: [{ topicRef: { name: 'p5' } }] });
    const ready = await waitForCondition(ns, 'consumerqueues', 'p5', 'Ready', 'True');
    const url = String(ready.status?.['queueUrl']);
    const queueArn = String(ready.status?.['queueArn']);

    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await sns().send(new PublishCommand({ TopicArn: topicArn, Message: 'order' }));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await eventually(
        async () =>
          Number((await queueAttributes(url))['ApproximateNumberOfMessages']) > 0 ? true : undefined,
        {
          timeoutMs: 10_000,
          what: 'messages in the queue',
        },
      );
      await deleteObject(ns, 'consumerqueues', 'p5');
      // The subscription goes although the queue holds messages and the publisher goes on.
      await eventually(
        async () => ((await subscriptionsInto(topicArn, queueArn)).length === 0 ? true : undefined),
        {
          timeoutMs: 30_000,
          what: 'the subscription removed before the queue drained',
        },
      );
      const blocked = await waitForCondition(
        ns,
        'consumerqueues',
        'p5',
        'Synced',
        'False',
        'DeletionBlocked',
      );
      expect(conditionOf(blocked, 'Synced')?.message).toMatch(
        /Waiting for the queues to drain: \d+ message\(s\) remain/,
      );
      expect(conditionOf(blocked, 'Synced')?.message).toContain(physical('p5'));
    } finally {
      publishing = false;
      await publisher;
    }
    // The test consumes what is left; the object then goes away.
    await eventually(
      async () => {
        if (await queueUrl(physical('p5'))) await drain(url).catch(() => 0);
        return (await getObject(ns, 'consumerqueues', 'p5')) ? undefined : true;
      },
      { timeoutMs: 60_000, what: 'ConsumerQueue p5 gone once drained' },
    );
    expect(await queueUrl(physical('p5'))).toBeUndefined();
  });

  it('every subscription redrives to the DLQ, the DLQ admits exactly those topics, and the switch turns it off', async () => {
    applyObject(ns, 'eventtopics', 'p8', {});
    const topicArn = await topicArnOf(ns, 'p8');
    applyObject(ns, 'eventtopics', 'p8-fifo', { fifo: true });
    const fifoArn = await topicArnOf(ns, 'p8-fifo');
    applyObject(ns, 'consumerqueues', 'p8', {
      subscriptions: [{ topicRef: { name: 'p8' } }, { topicRef: { name: 'p8-fifo' } }],
    });
    const ready = await waitForCondition(ns, 'consumerqueues', 'p8', 'Ready', 'True');
    const dlqArn = String(ready.status?.['deadLetterQueueArn']);
    const dlqUrl = String(ready.status?.['deadLetterQueueUrl']);
    const [standard, fifo] = entries(ready);
    expect(
      JSON.parse((await subscriptionAttributes(standard?.subscriptionArn ?? ''))['RedrivePolicy'] ?? '{}'),
    ).toEqual({
      deadLetterTargetArn: dlqArn,
    });
    // SNS takes only a FIFO dead-letter queue for a FIFO topic's subscription: none here, and said so.
    expect((await subscriptionAttributes(fifo?.subscriptionArn ?? ''))['RedrivePolicy'] ?? '').toBe('');
    expect(fifo).toMatchObject({ state: 'Active', reason: 'SubscribedWithoutRedrive' });
    expect(fifo?.message).toContain('FIFO');
    expect(fifoArn).not.toBe(topicArn);
    expect(policySources((await queueAttributes(dlqUrl))['Policy'])).toEqual([topicArn]);

    applyObject(ns, 'consumerqueues', 'p8', {
      deadLetter: { snsRedrive: false },
      subscriptions: [{ topicRef: { name: 'p8' } }, { topicRef: { name: 'p8-fifo' } }],
    });
    await waitForCondition(ns, 'consumerqueues', 'p8', 'Ready', 'True');
    await eventually(
      async () =>
        ((await subscriptionAttributes(standard?.subscriptionArn ?? ''))['RedrivePolicy'] ?? '') === '' &&
        policySources((await queueAttributes(dlqUrl))['Policy']).length === 0
          ? true
          : undefined,
      { timeoutMs: 20_000, what: 'redrive policy and DLQ statement removed' },
    );
    // Steady: another reconcile changes nothing (the stored policy compares canonically).
    const updates = () => eventsAbout(ns, 'p8').filter((e) => e.reason === 'Updated').length;
    const before = updates();
    await reconcileAgain(ns, 'p8');
    await reconcileAgain(ns, 'p8');
    expect(updates()).toBe(before);
  });

  it('tags removed from the spec leave the queue, the DLQ and the alarms; tags set by hand stay', async () => {
    applyObject(ns, 'consumerqueues', 'p9', {
      tags: { team: 'payments', cost: 'shop' },
      alarms: { backlog: { threshold: 100 } },
    });
    const ready = await waitForCondition(ns, 'consumerqueues', 'p9', 'Ready', 'True');
    expect(ready.status?.['managedTagKeys']).toEqual(['cost', 'team']);
    const url = String(ready.status?.['queueUrl']);
    const dlqUrl = String(ready.status?.['deadLetterQueueUrl']);
    const alarm = await describeAlarm(physical('p9', '_backlog'));
    const alarmArn = alarm?.AlarmArn ?? '';
    expect(await alarmTags(alarmArn)).toMatchObject({ cost: 'shop' });
    await sqs().send(new TagQueueCommand({ QueueUrl: url, Tags: { manual: 'yes' } }));
    await cloudwatch().send(
      new TagResourceCommand({ ResourceARN: alarmArn, Tags: [{ Key: 'manual', Value: 'yes' }] }),
    );

    applyObject(ns, 'consumerqueues', 'p9', {
      tags: { team: 'payments' },
      alarms: { backlog: { threshold: 100 } },
    });
    await waitForStatus(
      ns,
      'p9',
      (o) => JSON.stringify(o.status?.['managedTagKeys']) === '["team"]',
      'p9: managed tag keys',
    );
    for (const tags of [await queueTags(url), await queueTags(dlqUrl), await alarmTags(alarmArn)]) {
      expect(tags).toMatchObject({ team: 'payments' });
      expect(tags).not.toHaveProperty('cost');
    }
    expect(await queueTags(url)).toMatchObject({ manual: 'yes' });
    expect(await alarmTags(alarmArn)).toMatchObject({ manual: 'yes' });
  });

  it("the alarms' topic needs consent to publish, not to consume", async () => {
    applyObject(other, 'eventtopics', 'alerts', { allowedConsumerNamespaces: [ns] });
    await topicArnOf(other, 'alerts');
    applyObject(ns, 'consumerqueues', 'p1', {
      alarms: { topicRef: { name: 'alerts', namespace: other }, backlog: { threshold: 10 } },
    });
    const refused = await waitForCondition(
      ns,
      'consumerqueues',
      'p1',
      'AlarmsReady',
      'False',
      'TopicNotAllowed',
    );
    expect(conditionOf(refused, 'AlarmsReady')?.message).toContain('allowedPublisherNamespaces');
    expect(refused.status?.['queueUrl']).toBe(await queueUrl(physical('p1')));
    expect(await describeAlarm(physical('p1', '_backlog'))).toBeUndefined();

    applyObject(other, 'eventtopics', 'alerts', {
      allowedConsumerNamespaces: [ns],
      allowedPublisherNamespaces: [ns],
    });
    await waitForCondition(ns, 'consumerqueues', 'p1', 'AlarmsReady', 'True');
    expect((await describeAlarm(physical('p1', '_backlog')))?.AlarmActions).toEqual([
      await topicArnOf(other, 'alerts'),
    ]);
  });
});
