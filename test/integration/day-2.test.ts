// Day-2 operations, by the real operator against the bed: adopting a queue or topic made outside
// it (and releasing it with Retain), observing without changing, pausing, the connection-details
// ConfigMap, and a resync period per kind. AWS state is made and inspected directly in moto.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SendMessageCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-sns';
import { bedEnv, eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl, messageOf, objectOf, tryCreate } from './support/crds.ts';
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
import { eventReasons, getDeployment, until } from './support/ecommerce.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('day2');
const cluster = uniqueName('cluster');
let operator: OperatorProcess;

beforeAll(async () => {
  operator = await startOperator({
    namespaces: [ns],
    clusterName: cluster,
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
});

const MANAGED_BY = 'pubsub.ecommerce.io/managed-by';
const UID = 'pubsub.ecommerce.io/uid';
const annotate = (plural: string, name: string, ...pairs: string[]) =>
  kubectl(['annotate', '--overwrite', '-n', ns, `${plural}/${name}`, ...pairs]);

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs().send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return String(QueueUrl);
}

async function topicState(arn: string) {
  const [{ Attributes = {} }, { Tags = [] }] = await Promise.all([
    sns().send(new GetTopicAttributesCommand({ TopicArn: arn })),
    sns().send(new ListTagsForResourceCommand({ ResourceArn: arn })),
  ]);
  return { attributes: Attributes, tags: Object.fromEntries(Tags.map((t) => [t.Key ?? '', t.Value ?? ''])) };
}

/** The attributes that only the queue's traffic changes, left out when comparing. */
const stable = (attributes: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(attributes).filter(([k]) => !k.startsWith('Approximate') && k !== 'LastModifiedTimestamp'),
  );

function configMap(
  name: string,
): { data?: Record<string, string>; metadata: Record<string, unknown> } | undefined {
  try {
    return JSON.parse(kubectl(['get', 'configmap', '-n', ns, name, '-o', 'json'])) as {
      data?: Record<string, string>;
      metadata: Record<string, unknown>;
    };
  } catch (error) {
    if (/NotFound|not found/.test(messageOf(error))) return undefined;
    throw error;
  }
}

/** Waits until the reconcile that saw the current generation has written Paused=True. */
const pausedAtCurrentGeneration = (plural: 'eventtopics' | 'ecommerceservices', name: string) =>
  waitForCondition(ns, plural, name, 'Paused', 'True');

describe('adoption', () => {
  it('takes over a queue made outside the operator only on consent, with the DLQ its redrive names, and Retain releases both', async () => {
    const name = uniqueName('hand');
    const handDlq = `${name}-old-dlq`;
    const dlqUrl = await createQueue(handDlq);
    const dlqArn = (await queueAttributes(dlqUrl))['QueueArn'];
    const url = await createQueue(name, {
      VisibilityTimeout: '99',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
    });
    await sqs().send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'orders' } }));
    const spec = { queueName: name, visibilityTimeoutSeconds: 30, deadLetter: { maxReceiveCount: 3 } };

    // Without consent: refused, untouched, and the message says how to consent.
    applyObject(ns, 'consumerqueues', 'adopted', spec);
    const refused = await waitForCondition(ns, 'consumerqueues', 'adopted', 'Ready', 'False', 'NotOwned');
    expect(conditionOf(refused, 'Ready')?.message).toContain('pubsub.ecommerce.io/adopt=true');
    expect((await queueAttributes(url))['VisibilityTimeout']).toBe('99');
    expect(await queueTags(url)).toEqual({ team: 'orders' });

    annotate('consumerqueues', 'adopted', 'pubsub.ecommerce.io/adopt=true');
    const adopted = await waitForCondition(ns, 'consumerqueues', 'adopted', 'Ready', 'True');
    expect(adopted.status?.['queueUrl']).toBe(url);
    expect(adopted.status?.['deadLetterQueueUrl']).toBe(dlqUrl);
    const attributes = await queueAttributes(url);
    expect(attributes['VisibilityTimeout']).toBe('30');
    expect(JSON.parse(attributes['RedrivePolicy'] ?? '{}')).toMatchObject({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 3,
    });
    expect(await queueTags(url)).toMatchObject({ team: 'orders', [MANAGED_BY]: 'pubsub-operator' });
    expect((await queueTags(dlqUrl))[UID]).toBe(adopted.metadata.uid);
    expect(await queueUrl(`${name}-dlq`)).toBeUndefined(); // no second DLQ
    expect(eventReasons(ns, 'ConsumerQueue', 'adopted')).toContain('Adopted');

    // Release: Retain keeps both queues, without the ownership tags; the user's tag stays.
    applyObject(ns, 'consumerqueues', 'adopted', { ...spec, deletionPolicy: 'Retain' });
    await waitForCondition(ns, 'consumerqueues', 'adopted', 'Synced', 'True');
    await deleteObject(ns, 'consumerqueues', 'adopted');
    await waitGone(ns, 'consumerqueues', 'adopted');
    expect(await queueTags(url)).toEqual({ team: 'orders' });
    expect(await queueTags(dlqUrl)).toEqual({});

    // Released, it can be adopted again, by another object; deleting that one deletes both.
    applyObject(ns, 'consumerqueues', 'again', spec, {
      annotations: { 'pubsub.ecommerce.io/adopt': 'true' },
    });
    const again = await waitForCondition(ns, 'consumerqueues', 'again', 'Ready', 'True');
    expect((await queueTags(url))[UID]).toBe(again.metadata.uid);
    await deleteObject(ns, 'consumerqueues', 'again');
    await waitGone(ns, 'consumerqueues', 'again');
    expect(await queueUrl(name)).toBeUndefined();
    expect(await queueUrl(handDlq)).toBeUndefined();
  });

  it('does not take a released DLQ back by creating it again: the new object claims it in the create itself', async () => {
    // The same spec twice: the DLQ the second object would create has the very attributes the
    // first left behind, but for the claim on it (its policy's Id names the object's uid).
    const spec = { queueName: uniqueName('twin'), deadLetter: { maxReceiveCount: 3 } };
    applyObject(ns, 'consumerqueues', 'twin', { ...spec, deletionPolicy: 'Retain' });
    const first = await waitForCondition(ns, 'consumerqueues', 'twin', 'Ready', 'True');
    const url = String(first.status?.['queueUrl']);
    const dlqUrl = String(first.status?.['deadLetterQueueUrl']);
    await deleteObject(ns, 'consumerqueues', 'twin');
    await waitGone(ns, 'consumerqueues', 'twin');
    expect(await queueTags(dlqUrl)).toEqual({});
    // Only the released DLQ is left.
    await sqs().send(new DeleteQueueCommand({ QueueUrl: url }));

    applyObject(ns, 'consumerqueues', 'twin', spec);
    await waitForCondition(ns, 'consumerqueues', 'twin', 'Ready', 'False', 'NotOwned');
    expect(await queueTags(dlqUrl)).toEqual({});
    expect(await queueUrl(spec.queueName)).toBeUndefined();
    await deleteObject(ns, 'consumerqueues', 'twin');
    await waitGone(ns, 'consumerqueues', 'twin');
    expect(await queueUrl(`${spec.queueName}-dlq`)).toBe(dlqUrl);
    await sqs().send(new DeleteQueueCommand({ QueueUrl: dlqUrl }));
  });

  it('takes over an untagged topic on consent; a topic tagged for another owner stays refused', async () => {
    const free = uniqueName('hand-topic');
    const { TopicArn: freeArn } = await sns().send(
      new CreateTopicCommand({ Name: free, Attributes: { DisplayName: 'by hand' } }),
    );
    applyObject(
      ns,
      'eventtopics',
      'adopted-topic',
      { topicName: free, displayName: 'Orders' },
      { annotations: { 'pubsub.ecommerce.io/adopt': 'true' } },
    );
    const ready = await waitForCondition(ns, 'eventtopics', 'adopted-topic', 'Ready', 'True');
    expect(ready.status?.['topicArn']).toBe(freeArn);
    const adopted = await topicState(String(freeArn));
    expect(adopted.attributes['DisplayName']).toBe('Orders');
    expect(adopted.tags[UID]).toBe(ready.metadata.uid);
    expect(eventReasons(ns, 'EventTopic', 'adopted-topic')).toContain('Adopted');

    const taken = uniqueName('foreign-topic');
    const foreignTags = {
      [MANAGED_BY]: 'pubsub-operator',
      'pubsub.ecommerce.io/cluster': 'another-cluster',
      'pubsub.ecommerce.io/namespace': ns,
      'pubsub.ecommerce.io/name': 'foreign-topic',
      [UID]: 'someone-else',
    };
    const { TopicArn: takenArn } = await sns().send(
      new CreateTopicCommand({
        Name: taken,
        Attributes: { DisplayName: 'theirs' },
        Tags: Object.entries(foreignTags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    applyObject(
      ns,
      'eventtopics',
      'foreign-topic',
      { topicName: taken, displayName: 'Mine' },
      { annotations: { 'pubsub.ecommerce.io/adopt': 'true' } },
    );
    const refused = await waitForCondition(ns, 'eventtopics', 'foreign-topic', 'Ready', 'False', 'NotOwned');
    expect(conditionOf(refused, 'Ready')?.message).toContain('another-cluster');
    const untouched = await topicState(String(takenArn));
    expect(untouched.attributes['DisplayName']).toBe('theirs');
    expect(untouched.tags).toEqual(foreignTags);
    await deleteObject(ns, 'eventtopics', 'foreign-topic');
    await waitGone(ns, 'eventtopics', 'foreign-topic');
    expect((await topicState(String(takenArn))).tags).toEqual(foreignTags); // not deleted either
    await sns().send(new DeleteTopicCommand({ TopicArn: takenArn }));
  });
});

describe('managementPolicy ObserveOnly', () => {
  it('reads and reports the queue, its DLQ, backlog and drift, and never changes or deletes anything', async () => {
    const name = uniqueName('observed');
    // The operator gives a DLQ its queue's visibility timeout: so does this one.
    const dlqUrl = await createQueue(`${name}-theirs-dlq`, { VisibilityTimeout: '99' });
    const dlqArn = (await queueAttributes(dlqUrl))['QueueArn'];
    const url = await createQueue(name, {
      VisibilityTimeout: '99',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
    });
    for (const body of ['a', 'b'])
      await sqs().send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const before = { queue: stable(await queueAttributes(url)), dlq: stable(await queueAttributes(dlqUrl)) };

    applyObject(ns, 'consumerqueues', 'observed', {
      queueName: name,
      managementPolicy: 'ObserveOnly',
      connectionConfigMap: { name: 'observed-connection' },
    });
    const drifted = await waitForCondition(ns, 'consumerqueues', 'observed', 'Synced', 'False', 'Drifted');
    expect(conditionOf(drifted, 'Synced')?.message).toMatch(/VisibilityTimeout is "99", the spec says "30"/);
    expect(conditionOf(drifted, 'Ready')).toMatchObject({ status: 'True', reason: 'Observed' });
    expect(drifted.status).toMatchObject({
      queueUrl: url,
      deadLetterQueueUrl: dlqUrl,
      backlog: { visible: 2 },
    });
    expect(configMap('observed-connection')?.data).toMatchObject({ QUEUE_URL: url, DLQ_URL: dlqUrl });

    // Nothing changed in AWS: attributes, tags, and no queue of the derived DLQ name.
    expect(stable(await queueAttributes(url))).toEqual(before.queue);
    expect(stable(await queueAttributes(dlqUrl))).toEqual(before.dlq);
    expect(await queueTags(url)).toEqual({});
    expect(await queueUrl(`${name}-dlq`)).toBeUndefined();

    // The spec brought in line with the queue: in sync, still nothing written.
    applyObject(ns, 'consumerqueues', 'observed', {
      queueName: name,
      managementPolicy: 'ObserveOnly',
      // moto's defaults for a queue made without attributes
      visibilityTimeoutSeconds: 99,
      receiveWaitTimeSeconds: 0,
      maximumMessageSize: 1048576,
      deadLetter: { messageRetentionSeconds: 345600 },
      connectionConfigMap: { name: 'observed-connection' },
    });
    await waitForCondition(ns, 'consumerqueues', 'observed', 'Synced', 'True', 'Observed');

    // Deleting the object lets the finalizer go at once and leaves both queues and their messages.
    await deleteObject(ns, 'consumerqueues', 'observed');
    await waitGone(ns, 'consumerqueues', 'observed');
    expect(stable(await queueAttributes(url))).toEqual(before.queue);
    expect((await queueAttributes(url))['ApproximateNumberOfMessages']).toBe('2');
    expect(await queueUrl(`${name}-theirs-dlq`)).toBe(dlqUrl);
    await sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
    await sqs().send(new DeleteQueueCommand({ QueueUrl: dlqUrl }));
  });

  it('reports a queue that does not exist, and creates nothing', async () => {
    const name = uniqueName('missing');
    applyObject(ns, 'consumerqueues', 'missing', { queueName: name, managementPolicy: 'ObserveOnly' });
    await waitForCondition(ns, 'consumerqueues', 'missing', 'Ready', 'False', 'NotFound');
    expect(await queueUrl(name)).toBeUndefined();
    expect(await queueUrl(`${name}-dlq`)).toBeUndefined();
  });

  it('is refused at admission with subscriptions, or together with adoption', async () => {
    const refusal = (plural: 'eventtopics' | 'consumerqueues', body: Record<string, unknown>, text: string) =>
      // A new admission policy takes a moment to be in force.
      eventually(async () => ((await tryCreate(ns, plural, body))?.includes(text) ? true : undefined), {
        timeoutMs: 30_000,
        what: `a refusal naming ${text}`,
      });
    await refusal(
      'consumerqueues',
      objectOf('consumerqueues', 'observe-subscribed', {
        managementPolicy: 'ObserveOnly',
        subscriptions: [{ topicRef: { name: 'x' } }],
      }),
      'spec.subscriptions',
    );
    await refusal(
      'eventtopics',
      {
        ...objectOf('eventtopics', 'observe-adopt', { managementPolicy: 'ObserveOnly' }),
        metadata: { name: 'observe-adopt', annotations: { 'pubsub.ecommerce.io/adopt': 'true' } },
      },
      'managementPolicy ObserveOnly never does',
    );
    await refusal(
      'eventtopics',
      {
        ...objectOf('eventtopics', 'bad-pause', {}),
        metadata: { name: 'bad-pause', annotations: { 'pubsub.ecommerce.io/paused': 'yes' } },
      },
      `metadata.annotations['pubsub.ecommerce.io/paused'] must be "true" or "false"`,
    );
  });
});

describe('the pause annotation', () => {
  it('stops an EventTopic from being reconciled until it is removed', async () => {
    applyObject(ns, 'eventtopics', 'paused', { displayName: 'First' });
    const ready = await waitForCondition(ns, 'eventtopics', 'paused', 'Ready', 'True');
    const arn = String(ready.status?.['topicArn']);
    annotate('eventtopics', 'paused', 'pubsub.ecommerce.io/paused=true');
    await pausedAtCurrentGeneration('eventtopics', 'paused');

    applyObject(ns, 'eventtopics', 'paused', { displayName: 'Second' });
    const seen = await pausedAtCurrentGeneration('eventtopics', 'paused');
    expect(seen.metadata.generation).toBeGreaterThan(ready.metadata.generation);
    expect((await topicState(arn)).attributes['DisplayName']).toBe('First');

    annotate('eventtopics', 'paused', 'pubsub.ecommerce.io/paused-');
    await eventually(
      async () => ((await topicState(arn)).attributes['DisplayName'] === 'Second' ? true : undefined),
      { timeoutMs: 30_000, what: 'the display name applied once unpaused' },
    );
    const resumed = await waitForCondition(ns, 'eventtopics', 'paused', 'Synced', 'True');
    expect(conditionOf(resumed, 'Paused')).toBeUndefined();
  });

  it('stops an EcommerceService from applying its Deployment until it is removed', async () => {
    applyObject(ns, 'consumerqueues', 'paused-work', {});
    await waitForCondition(ns, 'consumerqueues', 'paused-work', 'Ready', 'True');
    const spec = {
      image: 'example/worker:1',
      consumes: { queueRef: { name: 'paused-work' } },
      scaling: { minReplicas: 1, maxReplicas: 2 },
    };
    applyObject(ns, 'ecommerceservices', 'paused-svc', spec);
    await until(() => (getDeployment(ns, 'paused-svc') ? true : undefined), {
      what: 'the Deployment',
    });
    annotate('ecommerceservices', 'paused-svc', 'pubsub.ecommerce.io/paused=true');
    await pausedAtCurrentGeneration('ecommerceservices', 'paused-svc');

    applyObject(ns, 'ecommerceservices', 'paused-svc', { ...spec, image: 'example/worker:2' });
    await pausedAtCurrentGeneration('ecommerceservices', 'paused-svc');
    const image = () => getDeployment(ns, 'paused-svc')?.spec.template.spec.containers[0]?.image;
    expect(image()).toBe('example/worker:1');

    annotate('ecommerceservices', 'paused-svc', 'pubsub.ecommerce.io/paused-');
    await until(() => (image() === 'example/worker:2' ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the new image applied once unpaused',
    });
  });
});

describe('the connection-details ConfigMap', () => {
  it('holds the URLs and ARNs, is put back after an edit or a deletion, moves with its name and goes with its owner', async () => {
    applyObject(ns, 'consumerqueues', 'connected', { connectionConfigMap: { name: 'connected-queue' } });
    const ready = await waitForCondition(ns, 'consumerqueues', 'connected', 'ConnectionDetailsReady', 'True');
    const expected = {
      QUEUE_URL: String(ready.status?.['queueUrl']),
      QUEUE_ARN: String(ready.status?.['queueArn']),
      QUEUE_NAME: String(ready.status?.['queueName']),
      DLQ_URL: String(ready.status?.['deadLetterQueueUrl']),
      DLQ_ARN: String(ready.status?.['deadLetterQueueArn']),
      AWS_REGION: bedEnv()['AWS_REGION'] ?? 'us-east-1',
    };
    const written = configMap('connected-queue');
    expect(written?.data).toEqual(expected);
    expect(written?.metadata['labels']).toMatchObject({ 'app.kubernetes.io/managed-by': 'pubsub-operator' });
    expect(written?.metadata['ownerReferences']).toEqual([
      expect.objectContaining({ kind: 'ConsumerQueue', uid: ready.metadata.uid, controller: true }),
    ]);

    kubectl(['patch', 'configmap', '-n', ns, 'connected-queue', '-p', '{"data":{"QUEUE_URL":"by-hand"}}']);
    await until(
      () => (configMap('connected-queue')?.data?.['QUEUE_URL'] === expected.QUEUE_URL ? true : undefined),
      {
        timeoutMs: 30_000,
        what: 'the edited key put back',
      },
    );
    kubectl(['delete', 'configmap', '-n', ns, 'connected-queue']);
    await until(() => (configMap('connected-queue')?.data?.['QUEUE_URL'] ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the deleted ConfigMap written again',
    });

    applyObject(ns, 'consumerqueues', 'connected', { connectionConfigMap: { name: 'connected-renamed' } });
    await until(
      () =>
        configMap('connected-renamed')?.data?.['QUEUE_URL'] && !configMap('connected-queue')
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'the ConfigMap moved to its new name' },
    );

    // The garbage collector of the bed's controller-manager removes it with its owner.
    await deleteObject(ns, 'consumerqueues', 'connected');
    await waitGone(ns, 'consumerqueues', 'connected');
    await until(() => (configMap('connected-renamed') ? undefined : true), {
      timeoutMs: 60_000,
      what: 'the ConfigMap garbage-collected',
    });
  });

  it('is never written over a ConfigMap of that name that is not the object’s', async () => {
    kubectl(
      ['apply', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'taken' },
        data: { TOPIC_ARN: 'theirs' },
      }),
    );
    applyObject(ns, 'eventtopics', 'connected-topic', { connectionConfigMap: { name: 'taken' } });
    const refused = await waitForCondition(
      ns,
      'eventtopics',
      'connected-topic',
      'ConnectionDetailsReady',
      'False',
      'NotOwned',
    );
    expect(conditionOf(refused, 'Ready')?.status).toBe('True');
    expect(configMap('taken')?.data).toEqual({ TOPIC_ARN: 'theirs' });
    expect(configMap('taken')?.metadata['ownerReferences']).toBeUndefined();

    kubectl(['delete', 'configmap', '-n', ns, 'taken']);
    const written = await waitForCondition(
      ns,
      'eventtopics',
      'connected-topic',
      'ConnectionDetailsReady',
      'True',
    );
    expect(configMap('taken')?.data).toMatchObject({ TOPIC_ARN: String(written.status?.['topicArn']) });
  });
});

describe('a resync period per kind', () => {
  const resyncNs = crdTestNamespace('day2-resync');
  let resyncOperator: OperatorProcess;

  beforeAll(async () => {
    resyncOperator = await startOperator({
      namespaces: [resyncNs],
      clusterName: uniqueName('cluster'),
      env: {
        PUBSUB_LEADER_ELECT: 'false',
        PUBSUB_RESYNC_PERIOD_SECONDS: '86400',
        PUBSUB_CONSUMER_QUEUE_RESYNC_PERIOD_SECONDS: '10',
      },
    });
  });

  afterAll(async () => {
    await deleteAll(resyncNs, ['consumerqueues', 'eventtopics']).catch(() => undefined);
    await resyncOperator?.stop();
  });

  it('repairs a queue deleted out of band at its own period while the topic waits for its own', async () => {
    applyObject(resyncNs, 'eventtopics', 'slow', {});
    applyObject(resyncNs, 'consumerqueues', 'fast', { deadLetter: { enabled: false } });
    const topic: Resource = await waitForCondition(resyncNs, 'eventtopics', 'slow', 'Ready', 'True');
    const queue: Resource = await waitForCondition(resyncNs, 'consumerqueues', 'fast', 'Ready', 'True');
    const topicArn = String(topic.status?.['topicArn']);
    const name = String(queue.status?.['queueName']);

    await sns().send(new DeleteTopicCommand({ TopicArn: topicArn }));
    await sqs().send(new DeleteQueueCommand({ QueueUrl: String(queue.status?.['queueUrl']) }));
    // Only the resync brings either back: nothing in the cluster changed.
    await eventually(async () => ((await queueUrl(name)) ? true : undefined), {
      timeoutMs: 90_000,
      what: 'the queue recreated by its resync',
    });
    const topicBack = await sns()
      .send(new GetTopicAttributesCommand({ TopicArn: topicArn }))
      .then(
        () => true,
        () => false,
      );
    expect(topicBack).toBe(false);
    const line = resyncOperator.lines.find((l) => l.msg === 'pubsub-operator configured');
    expect(line?.['resyncPeriodSeconds']).toEqual({
      EventTopic: 86400,
      ConsumerQueue: 10,
      EcommerceService: 86400,
    });
    expect(await getObject(resyncNs, 'eventtopics', 'slow')).toBeDefined();
  });
});
