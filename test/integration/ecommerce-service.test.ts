// The EcommerceService controller, run as the real operator process against the bed: the samples'
// topics, queues and services in a namespace of their own, Deployments with pods on the KWOK nodes,
// the injected wiring, drift put back, the least-privilege policy, and the Builtin scaler following
// the depth of a queue up, down after its stabilization window, and to zero and back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, eventually } from './support/bed.ts';
import { crdTestNamespace, kubectl } from './support/crds.ts';
import { conditionOf, deleteAll, getObject, waitForCondition } from './support/controllers.ts';
import {
  containerOf,
  envOf,
  eventReasons,
  getDeployment,
  getJson,
  nodesOfPods,
  purge,
  queueUrlOf,
  sendMessages,
  statusField,
  until,
  waitForReplicas,
} from './support/ecommerce.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';
import { uniqueName } from './support/bed.ts';

const ns = crdTestNamespace('esvc');
let operator: OperatorProcess;

const patchService = (name: string, spec: unknown) =>
  kubectl(['patch', '-n', ns, 'ecommerceservice', name, '--type', 'merge', '-p', JSON.stringify({ spec })]);

beforeAll(async () => {
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('cluster'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
  kubectl(['apply', '-n', ns, '-k', 'samples']);
});

afterAll(async () => {
  // The operator still runs, so the queues and topics are deleted in AWS too.
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
});

/** The service once its status has every value in `expected`. */
function statusMatching(name: string, expected: Record<string, unknown>) {
  return eventually(
    async () => {
      const svc = await getObject(ns, 'ecommerceservices', name);
      const status = (svc?.status ?? {}) as Record<string, unknown>;
      return Object.entries(expected).every(([k, v]) => status[k] === v) ? svc : undefined;
    },
    { timeoutMs: 30_000, what: `${name} status ${JSON.stringify(expected)}` },
  );
}

describe("the samples' services", () => {
  it('become Ready, with Deployments whose pods run on the KWOK nodes', async () => {
    for (const name of ['payment-service', 'order-service', 'notification-service'])
      await waitForCondition(ns, 'ecommerceservices', name, 'Ready', 'True', undefined, 120_000);

    const payment = await waitForReplicas(ns, 'payment-service', 1);
    expect(payment.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'EcommerceService', name: 'payment-service', controller: true }),
    ]);
    await waitForReplicas(ns, 'order-service', 2);
    // minReplicas 0 and an empty queue: it sleeps.
    await waitForReplicas(ns, 'notification-service', 0);
    const notification = await getObject(ns, 'ecommerceservices', 'notification-service');
    expect(conditionOf(notification, 'Ready')?.reason).toBe('ScaledToZero');

    const nodes = await until(
      () => {
        const found = [...nodesOfPods(ns, 'payment-service'), ...nodesOfPods(ns, 'order-service')];
        return found.length === 3 ? found : undefined;
      },
      { what: 'three running pods' },
    );
    for (const node of nodes) expect(node).toMatch(/^kwok-node-/);

    // The status follows the Deployment by one reconcile: wait for it rather than read it at once.
    const order = await statusMatching('order-service', {
      replicas: 2,
      readyReplicas: 2,
      desiredReplicas: 2,
    });
    expect(conditionOf(order, 'Available')?.status).toBe('True');
    expect(conditionOf(order, 'Synced')?.status).toBe('True');
  });

  it('get their queue, dead-letter queue, topics, region and SQS and SNS endpoints injected, and keep their own env', async () => {
    const queue = await getObject(ns, 'consumerqueues', 'payment-orders');
    const topic = await getObject(ns, 'eventtopics', 'payment-events');
    const deployment = getDeployment(ns, 'payment-service');
    expect(envOf(deployment)).toEqual({
      QUEUE_URL: queue?.status?.['queueUrl'],
      DEAD_LETTER_QUEUE_URL: queue?.status?.['deadLetterQueueUrl'],
      PAYMENT_EVENTS_TOPIC_ARN: topic?.status?.['topicArn'],
      AWS_REGION: bedEnv()['AWS_REGION'],
      // The operator's endpoint override, for SQS and SNS only: never the global AWS_ENDPOINT_URL.
      AWS_ENDPOINT_URL_SQS: bedEnv()['AWS_ENDPOINT_URL'],
      AWS_ENDPOINT_URL_SNS: bedEnv()['AWS_ENDPOINT_URL'],
      DATABASE_URL: undefined, // from its Secret
    });
    const container = containerOf(deployment);
    expect(container.env?.at(-1)).toEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'payment-service-db', key: 'url' } },
    });
    expect(container.image).toBe('ghcr.io/example/ecommerce-services:0.1.0');
    expect(container.args).toEqual(['payment-service']);
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const pod = deployment?.spec.template.spec;
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.terminationGracePeriodSeconds).toBe(50); // visibility 30 s + receive wait 20 s
    expect(pod?.serviceAccountName).toBe('payment-service');

    const order = envOf(getDeployment(ns, 'order-service'));
    expect(Object.keys(order)).toContain('ORDER_EVENTS_TOPIC_ARN');

    const sa = getJson<{ metadata: { annotations?: Record<string, string> } }>(
      ns,
      'serviceaccount',
      'payment-service',
    );
    expect(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(
      'arn:aws:iam::123456789012:role/payment-service',
    );
    const service = getJson<{ spec: { ports: { port: number; targetPort: string }[] } }>(
      ns,
      'service',
      'payment-service',
    );
    expect(service?.spec.ports).toEqual([expect.objectContaining({ port: 8080, targetPort: 'http' })]);
    const pdb = getJson<{ spec: { maxUnavailable: number } }>(ns, 'poddisruptionbudget', 'order-service');
    expect(pdb?.spec.maxUnavailable).toBe(1);
  });

  it('report the least-privilege policy and the IRSA trust policy for exactly their queue and topics', async () => {
    const svc = await getObject(ns, 'ecommerceservices', 'payment-service');
    const queue = await getObject(ns, 'consumerqueues', 'payment-orders');
    const topic = await getObject(ns, 'eventtopics', 'payment-events');
    const policy = JSON.parse(String(statusField(svc, 'iamPolicy'))) as {
      Statement: { Sid: string; Action: unknown; Resource: unknown }[];
    };
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Sid: 'ConsumeQueue',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
        ],
        Resource: queue?.status?.['queueArn'],
      }),
      expect.objectContaining({
        Sid: 'PublishToTopics',
        Action: 'sns:Publish',
        Resource: [topic?.status?.['topicArn']],
      }),
    ]);
    const trust = JSON.parse(String(statusField(svc, 'trustPolicy'))) as {
      Statement: { Action: string; Condition: { StringEquals: Record<string, string> } }[];
    };
    expect(trust.Statement[0]?.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(Object.values(trust.Statement[0]?.Condition.StringEquals ?? {})).toContain(
      `system:serviceaccount:${ns}:payment-service`,
    );
    // The notification service publishes nothing: its policy has no sns statement.
    const notification = await getObject(ns, 'ecommerceservices', 'notification-service');
    expect(String(statusField(notification, 'iamPolicy'))).not.toContain('sns:');
  });
});

describe('drift', () => {
  it('puts back an edited image and a removed variable of the owned Deployment', async () => {
    const before = getDeployment(ns, 'payment-service');
    kubectl([
      'patch',
      '-n',
      ns,
      'deployment',
      'payment-service',
      '--type',
      'json',
      '-p',
      JSON.stringify([
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil:latest' },
        { op: 'remove', path: '/spec/template/spec/containers/0/env/0' },
      ]),
    ]);
    const after = await until(
      () => {
        const d = getDeployment(ns, 'payment-service');
        return d &&
          d.metadata.generation > (before?.metadata.generation ?? 0) + 1 &&
          containerOf(d).image === containerOf(before).image &&
          envOf(d)['QUEUE_URL'] !== undefined
          ? d
          : undefined;
      },
      { what: 'the Deployment to be put back' },
    );
    expect(envOf(after)).toEqual(envOf(before));
  });

  it('passes spec.consumer on to the container as the CONSUMER_* variables, and refuses values out of range', async () => {
    patchService('notification-service', { consumer: { concurrency: 25, retryBudgetSeconds: 120 } });
    const env = await eventually(
      () => {
        const current = envOf(getDeployment(ns, 'notification-service'));
        return Promise.resolve(current['CONSUMER_CONCURRENCY'] === '25' ? current : undefined);
      },
      { timeoutMs: 90_000, what: 'CONSUMER_CONCURRENCY in the notification-service Deployment' },
    );
    expect(Object.entries(env).filter(([name]) => name.startsWith('CONSUMER_'))).toEqual([
      ['CONSUMER_CONCURRENCY', '25'],
      ['CONSUMER_RETRY_BUDGET_SECONDS', '120'],
    ]);
    expect(() => patchService('notification-service', { consumer: { batchSize: 11 } })).toThrow(
      /spec\.consumer\.batchSize/,
    );
    patchService('notification-service', { consumer: null });
    await eventually(
      () =>
        Promise.resolve(
          envOf(getDeployment(ns, 'notification-service'))['CONSUMER_CONCURRENCY'] === undefined
            ? true
            : undefined,
        ),
      { timeoutMs: 30_000, what: 'CONSUMER_CONCURRENCY gone from the notification-service Deployment' },
    );
  });

  it('puts back a deleted Service', async () => {
    const uid = getJson<{ metadata: { uid: string } }>(ns, 'service', 'payment-service')?.metadata.uid;
    kubectl(['delete', '-n', ns, 'service', 'payment-service', '--wait=true']);
    await until(
      () => {
        const s = getJson<{ metadata: { uid: string } }>(ns, 'service', 'payment-service');
        return s && s.metadata.uid !== uid ? s : undefined;
      },
      { what: 'the Service to be created again' },
    );
  });
});

describe('the Builtin scaler', () => {
  it('scales the payment service up with its queue at once, and down only after the stabilization window', async () => {
    patchService('payment-service', {
      scaling: { queueDepth: { pollIntervalSeconds: 5, scaleDownStabilizationSeconds: 20 } },
    });
    const url = await queueUrlOf(ns, 'payment-orders');
    await sendMessages(url, 23);
    // 23 messages at 5 per replica: 5 replicas (1 + 4, within the step).
    await waitForReplicas(ns, 'payment-service', 5);
    // ScaledUp lasts one poll: by the time five pods are available the scaler may already report
    // Steady, so the scale itself is checked through status and its Event.
    const scaled = await statusMatching('payment-service', { backlog: 23, desiredReplicas: 5 });
    expect(['ScaledUp', 'Steady']).toContain(conditionOf(scaled, 'Scaling')?.reason);
    expect(conditionOf(scaled, 'Scaling')?.status).toBe('True');
    expect(statusField(scaled, 'lastScaleTime')).toEqual(expect.any(String));
    expect(eventReasons(ns, 'EcommerceService', 'payment-service')).toContain('ScaledUp');
    // The scaler owns replicas under its own field manager; the main apply never sets them.
    const managers = (getDeployment(ns, 'payment-service')?.metadata.managedFields ?? []).filter((m) =>
      JSON.stringify((m.fieldsV1 as { 'f:spec'?: unknown } | undefined)?.['f:spec'] ?? {}).includes(
        '"f:replicas"',
      ),
    );
    expect(managers.map((m) => m.manager)).toEqual(['pubsub-operator-scaler']);

    await purge(url);
    const drainedAt = Date.now();
    const empty = await eventually(
      async () => {
        const s = await getObject(ns, 'ecommerceservices', 'payment-service');
        return statusField(s, 'backlog') === 0 ? s : undefined;
      },
      { what: 'the scaler to see the queue empty' },
    );
    expect(conditionOf(empty, 'Scaling')?.reason).toBe('ScaleDownStabilizing');
    expect(getDeployment(ns, 'payment-service')?.spec.replicas).toBe(5);
    await waitForReplicas(ns, 'payment-service', 1);
    expect(Date.now() - drainedAt).toBeGreaterThanOrEqual(15_000);
    expect(eventReasons(ns, 'EcommerceService', 'payment-service')).toContain('ScaledDown');
  });

  it('puts back replicas someone else set', async () => {
    kubectl(['scale', '-n', ns, 'deployment/payment-service', '--replicas=3']);
    await waitForReplicas(ns, 'payment-service', 1);
  });

  it('wakes a sleeping service when its queue fills, and lets it sleep again when it drains', async () => {
    patchService('notification-service', {
      scaling: { queueDepth: { pollIntervalSeconds: 5, scaleDownStabilizationSeconds: 10 } },
    });
    const url = await queueUrlOf(ns, 'notifications');
    await sendMessages(url, 3);
    await waitForReplicas(ns, 'notification-service', 1);
    const svc = await waitForCondition(
      ns,
      'ecommerceservices',
      'notification-service',
      'Ready',
      'True',
      'Available',
    );
    expect(svc.status).toMatchObject({ desiredReplicas: 1, backlog: 3 });
    await purge(url);
    await waitForReplicas(ns, 'notification-service', 0);
    await waitForCondition(ns, 'ecommerceservices', 'notification-service', 'Ready', 'True', 'ScaledToZero');
    await statusMatching('notification-service', { desiredReplicas: 0, backlog: 0 });
  });
});
