// What one ConsumerQueue with one subscription costs in AWS calls: to create, and per resync.
// Counted by the fault proxy in front of moto (it forwards everything and counts by operation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.ts';
import { bedEnv, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl } from './support/crds.ts';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { applyObject, deleteAll, sqs, waitForCondition } from './support/controllers.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('cost');
let proxy: FaultProxy;
let operator: OperatorProcess;

beforeAll(async () => {
  proxy = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '');
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('cost'),
    // No periodic resync during the measurement; a reconcile is triggered by hand instead.
    env: {
      PUBSUB_LEADER_ELECT: 'false',
      AWS_ENDPOINT_URL: proxy.endpoint,
      PUBSUB_RESYNC_PERIOD_SECONDS: '3600',
    },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['consumerqueues', 'eventtopics']);
  await operator.stop();
  await proxy.stop();
});

const reconciles = (name: string) =>
  operator.lines.filter(
    (l) => l['msg'] === 'reconciled' && l['controller'] === 'consumerqueue' && l['name'] === name,
  ).length;

async function settle(name: string, count: number): Promise<void> {
  await operator.waitForLog(() => reconciles(name) >= count);
  await new Promise((r) => setTimeout(r, 1_000));
}

describe('AWS calls of one ConsumerQueue with one subscription', () => {
  it('creating its topic costs the ownership check and CreateTopic with attributes and tags', async () => {
    proxy.resetCounts();
    applyObject(ns, 'eventtopics', 'orders', {});
    await waitForCondition(ns, 'eventtopics', 'orders', 'Ready', 'True');
    await new Promise((r) => setTimeout(r, 1_000));
    // The account id, once per process, for the topic's ARN.
    const { 'sts:GetCallerIdentity': _account, ...counts } = proxy.counts();
    expect(counts).toEqual({
      'sns:GetTopicAttributes': 1, // not there yet: nobody else's topic is taken over
      'sns:CreateTopic': 1,
    });
  });

  it('creating it costs four calls, all of them needed', async () => {
    proxy.resetCounts();

    applyObject(ns, 'consumerqueues', 'payments', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    await waitForCondition(ns, 'consumerqueues', 'payments', 'Ready', 'True');
    // The first reconcile only adds the finalizer; the second does the work.
    await settle('payments', 2);
    const counts = proxy.counts();
    console.log('create cost', counts);
    expect(counts).toEqual({
      // The queue: not there yet, so nobody else's is taken over (and no DLQ is made beside one).
      'sqs:GetQueueUrl': 1,
      // DLQ first, its policy claiming it for this object (no read needed: see policyId), then
      // the queue with its RedrivePolicy, Policy and tags.
      'sqs:CreateQueue': 2,
      // No listing of subscriptions: a queue that never existed for this object has none of ours.
      'sns:Subscribe': 1,
    });
    // Its own status write does not trigger another reconcile.
    expect(reconciles('payments')).toBe(2);
  });

  it('a resync of the queue costs one read per AWS resource (queue, DLQ, subscription) and no write', async () => {
    proxy.resetCounts();
    const before = reconciles('payments');
    kubectl(['annotate', '-n', ns, 'consumerqueues/payments', `resync=${Date.now()}`]);
    await settle('payments', before + 1);
    const counts = proxy.counts();
    console.log('resync cost', counts);
    const { 'sqs:GetQueueAttributes': attributes = 0, ...rest } = counts;
    // The queue and its DLQ by the URLs in status; their policies carry this object's Id, which
    // proves ownership without ListQueueTags (tags were read at creation, within the recheck period).
    // The first read of a DLQ per process also asks once whether the endpoint knows RedriveAllowPolicy.
    expect(attributes === 2 || attributes === 3).toBe(true);
    expect(rest).toEqual({
      // The subscription status records, read by its ARN: no listing of the topic while it is there.
      'sns:GetSubscriptionAttributes': 1,
    });
  });

  it('a resync of the topic costs one read and no write', async () => {
    const topicReconciles = () =>
      operator.lines.filter(
        (l) => l['msg'] === 'reconciled' && l['controller'] === 'eventtopic' && l['name'] === 'orders',
      ).length;
    const before = topicReconciles();
    proxy.resetCounts();
    kubectl(['annotate', '-n', ns, 'eventtopics/orders', `resync=${Date.now()}`]);
    await operator.waitForLog(() => topicReconciles() > before);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(proxy.counts()).toEqual({
      // The topic's own: its policy carries its object's Id, so no ListTagsForResource.
      'sns:GetTopicAttributes': 1,
      // A topic's event wakes the queues that subscribe to it: the queue's resync, as above.
      'sqs:GetQueueAttributes': 2,
      'sns:GetSubscriptionAttributes': 1,
    });
  });

  it('reads the tags again, and repairs the policy, when the policy no longer names this object', async () => {
    const { queueUrl } = (await waitForCondition(ns, 'consumerqueues', 'payments', 'Ready', 'True'))
      .status as {
      queueUrl: string;
    };
    // A policy written by hand, straight to the endpoint: it proves nothing about ownership.
    await sqs().send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: JSON.stringify({ Version: '2012-10-17', Id: 'by-hand', Statement: [] }) },
      }),
    );
    proxy.resetCounts();
    const before = reconciles('payments');
    kubectl(['annotate', '-n', ns, 'consumerqueues/payments', '--overwrite', `resync=${Date.now()}`]);
    await settle('payments', before + 1);
    const counts = proxy.counts();
    expect(counts['sqs:ListQueueTags']).toBe(1); // the queue's; the DLQ's policy still names the object
    expect(counts['sqs:SetQueueAttributes']).toBe(1);
    const { Attributes = {} } = await sqs().send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] }),
    );
    const repaired = JSON.parse(Attributes['Policy'] ?? '{}') as { Id?: string };
    expect(repaired.Id).toContain('/pubsub-operator/');
  });
});

describe('AWS calls of a topic and its queue applied together', () => {
  it('are the minimum: the queue waits for the topic being made and is created with it in its policy', async () => {
    proxy.resetCounts();
    // CreateTopic is throttled twice (the SDK retries): the queue's reconcile comes round while the
    // topic has no ARN yet, as it does when one apply brings both.
    proxy.inject({ fault: { kind: 'throttle' }, service: 'sns', operation: 'CreateTopic', times: 2 });
    applyObject(ns, 'eventtopics', 'together', {});
    applyObject(ns, 'consumerqueues', 'together', { subscriptions: [{ topicRef: { name: 'together' } }] });
    await waitForCondition(ns, 'consumerqueues', 'together', 'Ready', 'True');
    await new Promise((r) => setTimeout(r, 1_000));
    proxy.clearFaults();
    const { 'sns:CreateTopic': createTopic, ...counts } = proxy.counts();
    expect(createTopic).toBe(3); // two throttled, then made
    expect(counts).toEqual({
      'sns:GetTopicAttributes': 1,
      'sqs:GetQueueUrl': 1,
      'sqs:CreateQueue': 2,
      'sns:Subscribe': 1,
    });
  });
});
