// Proves the test bed is made of real parts: a scheduler and KWOK that run Deployments, an
// apiserver that enforces RBAC on ServiceAccount tokens, and an SNS/SQS endpoint that delivers,
// filters and redrives messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { awsClientConfig, eventually, kubeConfig, uniqueName } from './support/bed.ts';

describe('kubernetes parts of the bed', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = uniqueName('bed-smoke');

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace });
  });

  it('runs a Deployment to Ready pods on KWOK nodes', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'smoke' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'smoke' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'app', image: 'example.invalid/smoke:1' }] },
          },
        },
      },
    });
    const ready = await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'smoke', namespace });
        return d.status?.readyReplicas === 2 ? d : undefined;
      },
      { what: 'deployment smoke to have 2 ready replicas' },
    );
    expect(ready.status?.availableReplicas).toBe(2);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=smoke' });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.phase).toBe('Running');
    }
  });

  it('refuses a ServiceAccount token what its RBAC does not grant', async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'reader',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    expect(token).toBeTruthy();

    const asReader = new KubeConfig();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('bed kubeconfig has no cluster');
    asReader.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'reader', token }],
      contexts: [{ name: 'reader', cluster: cluster.name, user: 'reader', namespace }],
      currentContext: 'reader',
    });
    const readerCore = asReader.makeApiClient(CoreV1Api);

    const allowed = await readerCore.listNamespacedConfigMap({ namespace });
    expect(Array.isArray(allowed.items)).toBe(true);
    await expect(readerCore.listNamespacedSecret({ namespace })).rejects.toMatchObject({ code: 403 });
    await expect(
      readerCore.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'nope' } } }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(readerCore.listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
  });
});

describe('AWS parts of the bed', () => {
  const sqs = new SQSClient(awsClientConfig());
  const sns = new SNSClient(awsClientConfig());
  const created: { queues: string[]; topics: string[] } = { queues: [], topics: [] };

  async function createQueue(name: string, attributes: Record<string, string> = {}) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error('CreateQueue returned no URL');
    created.queues.push(QueueUrl);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl, arn: attrs.Attributes?.['QueueArn'] ?? '' };
  }

  async function receiveBodies(url: string, waitSeconds: number): Promise<string[]> {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
    );
    return (Messages ?? []).map((m) => m.Body ?? '');
  }

  afterAll(async () => {
    for (const url of created.queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    for (const arn of created.topics) await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
  });

  it('fans an SNS message out to two queues, one of which drops it by filter policy', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName('smoke-orders') }));
    if (!TopicArn) throw new Error('CreateTopic returned no ARN');
    created.topics.push(TopicArn);
    const everything = await createQueue(uniqueName('smoke-all'));
    const onlyCreated = await createQueue(uniqueName('smoke-created'));
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: everything.arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: onlyCreated.arn,
        Attributes: {
          RawMessageDelivery: 'true',
          FilterPolicy: JSON.stringify({ eventType: ['OrderCreated'] }),
        },
      }),
    );
    const attributes = (eventType: string) => ({
      eventType: { DataType: 'String', StringValue: eventType },
    });
    await sns.send(
      new PublishCommand({
        TopicArn,
        Message: 'cancelled-1',
        MessageAttributes: attributes('OrderCancelled'),
      }),
    );
    await sns.send(
      new PublishCommand({ TopicArn, Message: 'created-1', MessageAttributes: attributes('OrderCreated') }),
    );

    const all = await eventually(
      async () => {
        const bodies = await receiveBodies(everything.url, 1);
        return bodies.length > 0 ? bodies : undefined;
      },
      { what: 'messages on the unfiltered queue' },
    );
    // Both messages may not arrive in one receive; collect until both are seen.
    const seen = new Set(all);
    while (seen.size < 2) for (const b of await receiveBodies(everything.url, 1)) seen.add(b);
    expect([...seen].sort()).toEqual(['cancelled-1', 'created-1']);

    const filtered = await receiveBodies(onlyCreated.url, 2);
    expect(filtered).toEqual(['created-1']);
    expect(await receiveBodies(onlyCreated.url, 1)).toEqual([]);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlq = await createQueue(uniqueName('smoke-dlq'));
    const queue = await createQueue(uniqueName('smoke-work'), {
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'poison' }));

    expect(await receiveBodies(queue.url, 1)).toEqual(['poison']);
    expect(await receiveBodies(queue.url, 1)).toEqual(['poison']);
    // The third receive finds the message over its limit and hands it to the DLQ instead.
    expect(await receiveBodies(queue.url, 1)).toEqual([]);
    expect(await receiveBodies(dlq.url, 1)).toEqual(['poison']);
  });
});
