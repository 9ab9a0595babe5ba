// The EcommerceService side of the graph's safety contracts, with the real operator process against
// the bed, in two namespaces: consent before a service may publish to another namespace's topic
// (and its withdrawal taking effect in running pods), a consumer that runs as soon as its queue
// exists, one topic named twice acted on once, the workload's wiring (endpoint per service, the
// identity variables reserved, KEDA with its own read-only identity), and scaling.age acting once
// per CloudWatch data point.
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, eventually, uniqueName } from './support/bed.ts';
import { cloudwatch } from './support/cloudwatch.ts';
import { crdTestNamespace, withoutAdmissionPolicies } from './support/crds.ts';
import {
  applyObject,
  conditionOf,
  deleteAll,
  getObject,
  waitForCondition,
  type Resource,
} from './support/controllers.ts';
import { envOf, eventReasons, getDeployment, getJson, until, waitForReplicas } from './support/ecommerce.ts';
import { installMinimalKeda, realKedaInstalled, uninstallMinimalKeda } from './support/keda.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const a = crdTestNamespace('gs-svc-a');
const b = crdTestNamespace('gs-svc-b');
let operator: OperatorProcess;

beforeAll(async () => {
  if (realKedaInstalled()) throw new Error('a real KEDA is installed on the bed; this test installs its own');
  operator = await startOperator({
    namespaces: [a, b],
    clusterName: uniqueName('gs-svc'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  for (const ns of [a, b])
    await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  uninstallMinimalKeda();
});

const policyOf = (svc: Resource | undefined, field = 'iamPolicy'): string => {
  const value = svc?.status?.[field];
  return typeof value === 'string' ? value : '';
};

/** The service once `probe` holds for it and its Deployment. */
const serviceWhen = (ns: string, name: string, what: string, probe: (svc: Resource) => boolean) =>
  eventually(
    async () => {
      const svc = await getObject(ns, 'ecommerceservices', name);
      return svc && getDeployment(ns, name) && probe(svc) ? svc : undefined;
    },
    { timeoutMs: 60_000, what },
  );

const topicArnOf = async (ns: string, name: string): Promise<string> =>
  String((await waitForCondition(ns, 'eventtopics', name, 'Ready', 'True')).status?.['topicArn']);

describe('graph safety: EcommerceService', () => {
  it('a service may not publish to a topic of another namespace that does not consent, and loses it when consent is withdrawn', async () => {
    applyObject(b, 'eventtopics', 'private-events', {});
    const arn = await topicArnOf(b, 'private-events');
    applyObject(a, 'ecommerceservices', 'publisher', {
      image: 'ghcr.io/example/publisher:1',
      publishes: [{ topicRef: { name: 'private-events', namespace: b } }],
    });

    // b allows nobody: the Deployment runs, without the ARN, and the policy grants nothing.
    const refused = await waitForCondition(
      a,
      'ecommerceservices',
      'publisher',
      'ReferencesResolved',
      'False',
    );
    expect(conditionOf(refused, 'ReferencesResolved')?.reason).toBe('TopicNotAllowed');
    expect(conditionOf(refused, 'ReferencesResolved')?.message).toContain(
      `EventTopic ${b}/private-events does not list namespace ${a} in spec.allowedPublisherNamespaces`,
    );
    expect(conditionOf(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'TopicNotAllowed' });
    expect(eventReasons(a, 'EcommerceService', 'publisher')).toContain('TopicNotAllowed');
    await until(() => getDeployment(a, 'publisher'), { what: 'the Deployment' });
    expect(Object.values(envOf(getDeployment(a, 'publisher')))).not.toContain(arn);
    expect(envOf(getDeployment(a, 'publisher'))).not.toHaveProperty('PRIVATE_EVENTS_TOPIC_ARN');
    expect(policyOf(refused)).not.toContain(arn);
    expect(policyOf(refused)).not.toContain('sns:Publish');

    // Consent: the ARN reaches the pods and sns:Publish the policy.
    applyObject(b, 'eventtopics', 'private-events', { allowedPublisherNamespaces: [a] });
    const allowed = await serviceWhen(
      a,
      'publisher',
      'the ARN in the Deployment and the policy',
      (svc) =>
        envOf(getDeployment(a, 'publisher'))['PRIVATE_EVENTS_TOPIC_ARN'] === arn &&
        policyOf(svc).includes(arn),
    );
    expect(conditionOf(allowed, 'ReferencesResolved')?.status).toBe('True');

    // Withdrawn: out of the running pods' Deployment and out of the policy again.
    applyObject(b, 'eventtopics', 'private-events', { allowedPublisherNamespaces: [] });
    const withdrawn = await serviceWhen(
      a,
      'publisher',
      'the ARN out of the Deployment and the policy',
      (svc) =>
        envOf(getDeployment(a, 'publisher'))['PRIVATE_EVENTS_TOPIC_ARN'] === undefined &&
        !policyOf(svc).includes(arn),
    );
    expect(conditionOf(withdrawn, 'ReferencesResolved')?.reason).toBe('TopicNotAllowed');
  });

  it('a consumer runs as soon as its queue exists, though one of the queue’s topics does not exist yet', async () => {
    applyObject(a, 'eventtopics', 'present', {});
    await topicArnOf(a, 'present');
    applyObject(a, 'consumerqueues', 'half-wired', {
      subscriptions: [{ topicRef: { name: 'present' } }, { topicRef: { name: 'not-yet' } }],
    });
    applyObject(a, 'ecommerceservices', 'consumer', {
      image: 'ghcr.io/example/consumer:1',
      consumes: { queueRef: { name: 'half-wired' } },
    });
    const queue = await eventually(
      async () => {
        const q = await getObject(a, 'consumerqueues', 'half-wired');
        return q?.status?.['queueUrl'] ? q : undefined;
      },
      { what: 'the queue URL in status' },
    );
    const deployment = await until(
      () => {
        const d = getDeployment(a, 'consumer');
        return d && envOf(d)['QUEUE_URL'] ? d : undefined;
      },
      { what: 'the Deployment with QUEUE_URL' },
    );
    expect(envOf(deployment)['QUEUE_URL']).toBe(queue.status?.['queueUrl']);
    // The queue's second topic still does not exist: the service did not need it.
    expect(await getObject(a, 'eventtopics', 'not-yet')).toBeUndefined();
    const svc = await waitForCondition(a, 'ecommerceservices', 'consumer', 'ReferencesResolved', 'True');
    expect(policyOf(svc)).toContain(String(queue.status?.['queueArn']));
  });

  it('one topic named twice ({name} and {name, namespace: own}) is acted on once', async () => {
    applyObject(a, 'eventtopics', 'own-events', {});
    const arn = await topicArnOf(a, 'own-events');
    // Admission refuses this list; stored before the policies existed, it is acted on once.
    await withoutAdmissionPolicies(() =>
      applyObject(a, 'ecommerceservices', 'twice', {
        image: 'ghcr.io/example/publisher:1',
        publishes: [
          { topicRef: { name: 'own-events' } },
          { topicRef: { name: 'own-events', namespace: a }, envName: 'AGAIN_TOPIC_ARN' },
        ],
      }),
    );
    const svc = await waitForCondition(a, 'ecommerceservices', 'twice', 'ReferencesResolved', 'False');
    expect(conditionOf(svc, 'ReferencesResolved')?.reason).toBe('RepeatedReference');
    expect(conditionOf(svc, 'ReferencesResolved')?.message).toContain(
      `spec.publishes[1] names EventTopic ${a}/own-events again`,
    );
    const env = envOf(getDeployment(a, 'twice'));
    expect(Object.entries(env).filter(([, v]) => v === arn)).toEqual([['OWN_EVENTS_TOPIC_ARN', arn]]);
    const policy = JSON.parse(policyOf(svc)) as { Statement: { Resource: unknown }[] };
    expect(policy.Statement).toEqual([expect.objectContaining({ Sid: 'PublishToTopics', Resource: [arn] })]);
  });

  it('the endpoint reaches pods for SQS and SNS only, identity variables are reserved, KEDA assumes no workload role', async () => {
    // The operator runs with AWS_ENDPOINT_URL (moto): the pods get it per service, never globally.
    applyObject(a, 'consumerqueues', 'scaled', {});
    const queue = await waitForCondition(a, 'consumerqueues', 'scaled', 'Ready', 'True');
    await installMinimalKeda();
    applyObject(a, 'ecommerceservices', 'wired', {
      image: 'ghcr.io/example/worker:1',
      consumes: { queueRef: { name: 'scaled' } },
      identity: { roleArn: 'arn:aws:iam::123456789012:role/wired' },
      scaling: { engine: 'KEDA', minReplicas: 1, maxReplicas: 3, age: { maxAgeSeconds: 300 } },
    });
    const deployment = await until(() => getDeployment(a, 'wired'), { what: 'the Deployment' });
    const env = envOf(deployment);
    const endpoint = bedEnv()['AWS_ENDPOINT_URL'];
    expect(env).toMatchObject({ AWS_ENDPOINT_URL_SQS: endpoint, AWS_ENDPOINT_URL_SNS: endpoint });
    expect(env).not.toHaveProperty('AWS_ENDPOINT_URL');

    // KEDA reads the queue as itself; the workload's role trusts only the workload.
    const svc = await serviceWhen(a, 'wired', 'status.kedaPolicy', (s) => policyOf(s, 'kedaPolicy') !== '');
    expect(policyOf(svc, 'trustPolicy')).not.toContain('system:serviceaccount:keda:');
    expect(policyOf(svc, 'trustPolicy')).toContain(`system:serviceaccount:${a}:wired`);
    expect(JSON.parse(policyOf(svc, 'kedaPolicy'))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadScaledQueue',
          Effect: 'Allow',
          Action: 'sqs:GetQueueAttributes',
          Resource: queue.status?.['queueArn'],
        },
        { Sid: 'ReadQueueAgeMetric', Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' },
      ],
    });
    expect(policyOf(svc)).not.toContain('cloudwatch:');
    const ta = await until(() => getJson<{ spec: unknown }>(a, 'triggerauthentications.keda.sh', 'wired'), {
      what: 'the TriggerAuthentication',
      timeoutMs: 90_000,
    });
    expect(ta.spec).toEqual({ podIdentity: { provider: 'aws', identityOwner: 'keda' } });

    // The variables that choose the pod's AWS identity are refused at admission, naming the field.
    for (const name of [
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      expect(() =>
        applyObject(a, 'ecommerceservices', 'borrower', {
          image: 'ghcr.io/example/worker:1',
          env: [{ name, value: 'arn:aws:iam::123456789012:role/someone-else' }],
        }),
      ).toThrow(/spec\.env\[0\]\.name.*reserved/);
    }
    expect(await getObject(a, 'ecommerceservices', 'borrower')).toBeUndefined();
  });

  it('scaling.age adds a replica once per CloudWatch data point, not once per poll', async () => {
    applyObject(a, 'consumerqueues', 'aged', {});
    const queue = await waitForCondition(a, 'consumerqueues', 'aged', 'Ready', 'True');
    applyObject(a, 'ecommerceservices', 'aged', {
      image: 'ghcr.io/example/worker:1',
      consumes: { queueRef: { name: 'aged' } },
      scaling: {
        minReplicas: 1,
        maxReplicas: 4,
        age: { maxAgeSeconds: 60 },
        queueDepth: { pollIntervalSeconds: 5, scaleDownStabilizationSeconds: 600 },
      },
    });
    await waitForReplicas(a, 'aged', 1);
    // SQS publishes ApproximateAgeOfOldestMessage once a minute; moto does not, so the test does.
    const point = (minutesAgo: number) =>
      cloudwatch().send(
        new PutMetricDataCommand({
          Namespace: 'AWS/SQS',
          MetricData: [
            {
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: String(queue.status?.['queueName']) }],
              Timestamp: new Date(Date.now() - minutesAgo * 60_000),
              Value: 600,
              Unit: 'Seconds',
            },
          ],
        }),
      );
    await point(2);
    await waitForReplicas(a, 'aged', 2);
    // Four more polls see the same point: no more replicas (an empty queue asks for one).
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    expect(getDeployment(a, 'aged')?.spec.replicas).toBe(2);
    // A new data point: one more.
    await point(0);
    await waitForReplicas(a, 'aged', 3);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(getDeployment(a, 'aged')?.spec.replicas).toBe(3);
    expect((await getObject(a, 'ecommerceservices', 'aged'))?.status?.['backlog']).toBe(0);
  });
});
