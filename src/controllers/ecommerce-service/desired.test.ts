import { describe, expect, it } from 'vitest';
import type { ConsumerQueue, EcommerceService, EventTopic } from '../../crds/index.ts';
import { runtimeEnv } from '../../../services/consumer/config.ts';
import {
  CONSUMER_TUNING,
  ConsumerQueueSpecSchema,
  EcommerceServiceSpecSchema,
  EventTopicSpecSchema,
} from '../../crds/index.ts';
import {
  availability,
  CONTAINER_SECURITY_CONTEXT,
  desiredDeployment,
  desiredEnv,
  desiredHorizontalPodAutoscaler,
  desiredPodDisruptionBudget,
  desiredScaledObject,
  desiredService,
  desiredServiceAccount,
  desiredTriggerAuthentication,
  envCollisions,
  gracePeriodSeconds,
  labelValue,
  readiness,
  referencesCondition,
  resolveDependencies,
  serviceNameProblem,
  topicEnvName,
  type DeploymentState,
  type ResolvedQueue,
} from './desired.ts';

const READY = [
  {
    type: 'Ready',
    status: 'True' as const,
    reason: 'Available',
    message: '',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  },
];
const QUEUE_URL = 'http://sqs.local/123456789012/pubsub_shop_payment-orders';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:pubsub_shop_payment-orders';
const DLQ_URL = 'http://sqs.local/123456789012/pubsub_shop_payment-orders_dlq';
const topicArn = (name: string) => `arn:aws:sns:us-east-1:123456789012:pubsub_shop_${name}`;

function svc(spec: Record<string, unknown> = {}): EcommerceService {
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EcommerceService',
    metadata: { namespace: 'shop', name: 'payment-service', uid: 'uid-svc', generation: 1 },
    spec: EcommerceServiceSpecSchema.parse({ image: 'ghcr.io/example/payment:1.4.2', ...spec }),
  };
}

function queue(opts: { ready?: boolean; spec?: Record<string, unknown> } = {}): ConsumerQueue {
  const { ready = true, spec = {} } = opts;
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'ConsumerQueue',
    metadata: { namespace: 'shop', name: 'payment-orders' },
    spec: ConsumerQueueSpecSchema.parse(spec),
    status: ready
      ? {
          queueName: 'pubsub_shop_payment-orders',
          queueUrl: QUEUE_URL,
          queueArn: QUEUE_ARN,
          deadLetterQueueUrl: DLQ_URL,
          conditions: READY,
        }
      : { queueUrl: QUEUE_URL },
  };
}

function topic(name: string, opts: { ready?: boolean; namespace?: string; kms?: string } = {}): EventTopic {
  const { ready = true, namespace = 'shop', kms } = opts;
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EventTopic',
    metadata: { namespace, name },
    spec: EventTopicSpecSchema.parse(kms ? { encryption: { kmsKeyId: kms } } : {}),
    status: ready ? { topicArn: topicArn(name), conditions: READY } : {},
  };
}

const lookup =
  <T extends { metadata?: { namespace?: string; name?: string } }>(...items: T[]) =>
  (namespace: string, name: string) =>
    items.find((i) => i.metadata?.namespace === namespace && i.metadata.name === name);

const resolvedQueue: ResolvedQueue = {
  namespace: 'shop',
  name: 'payment-orders',
  url: QUEUE_URL,
  arn: QUEUE_ARN,
  queueName: 'pubsub_shop_payment-orders',
  deadLetterUrl: DLQ_URL,
  visibilityTimeoutSeconds: 30,
  receiveWaitTimeSeconds: 20,
  kmsKeyId: undefined,
};
const settings = { region: 'us-east-1', awsEndpoint: undefined };

describe('topicEnvName', () => {
  it.each([
    [{ topicRef: { name: 'payment-events' } }, 'PAYMENT_EVENTS_TOPIC_ARN'],
    [{ topicRef: { name: 'orders.v2' } }, 'ORDERS_V2_TOPIC_ARN'],
    [{ topicRef: { name: 'payment-events' }, envName: 'PAYMENTS_TOPIC_ARN' }, 'PAYMENTS_TOPIC_ARN'],
  ])('%j → %s', (publish, expected) => {
    expect(topicEnvName(publish)).toBe(expected);
  });
});

describe('resolveDependencies', () => {
  const spec = {
    consumes: { queueRef: { name: 'payment-orders' } },
    publishes: [{ topicRef: { name: 'payment-events' } }],
  };
  it.each([
    ['queue missing', lookup<ConsumerQueue>(), lookup(topic('payment-events')), 'QueueNotFound', true],
    [
      'queue without URL and ARN',
      lookup(queue({ ready: false })),
      lookup(topic('payment-events')),
      'QueueNotReady',
      false,
    ],
    ['topic missing', lookup(queue()), lookup<EventTopic>(), 'TopicNotFound', true],
    [
      'topic without ARN',
      lookup(queue()),
      lookup(topic('payment-events', { ready: false })),
      'TopicNotReady',
      false,
    ],
  ])('waits while the %s', (_, queues, topics, reason, missing) => {
    expect(resolveDependencies(svc(spec), queues, topics).waits).toEqual([
      expect.objectContaining({ reason, missing }),
    ]);
  });

  it('uses a queue as soon as it has a URL and an ARN, Ready or not', () => {
    const waiting = queue();
    waiting.status = { ...waiting.status, conditions: [] };
    const deps = resolveDependencies(svc(spec), lookup(waiting), lookup(topic('payment-events')));
    expect(deps.waits).toEqual([]);
    expect(deps.queue?.url).toBe(QUEUE_URL);
  });

  it('resolves the queue and topics, across namespaces where the topic consents', () => {
    const s = svc({
      consumes: { queueRef: { name: 'payment-orders' } },
      publishes: [
        { topicRef: { name: 'payment-events' } },
        { topicRef: { name: 'audit', namespace: 'ops' } },
      ],
    });
    const audit = topic('audit', { namespace: 'ops', kms: 'alias/audit' });
    audit.spec = { ...audit.spec, allowedPublisherNamespaces: ['shop'] };
    const deps = resolveDependencies(
      s,
      lookup(queue({ spec: { encryption: { kmsKeyId: 'alias/orders' } } })),
      lookup(topic('payment-events'), audit),
    );
    expect(deps).toEqual({
      queue: { ...resolvedQueue, kmsKeyId: 'alias/orders' },
      topics: [
        {
          namespace: 'shop',
          name: 'payment-events',
          arn: topicArn('payment-events'),
          envName: 'PAYMENT_EVENTS_TOPIC_ARN',
          kmsKeyId: undefined,
        },
        {
          namespace: 'ops',
          name: 'audit',
          arn: topicArn('audit'),
          envName: 'AUDIT_TOPIC_ARN',
          kmsKeyId: 'alias/audit',
        },
      ],
      waits: [],
      refused: [],
    });
    expect(referencesCondition(deps)).toMatchObject({ status: 'True', reason: 'Resolved' });
  });

  it.each([
    ['no list', undefined],
    ['a consumer list only', { allowedConsumerNamespaces: ['shop'] }],
    ['another namespace', { allowedPublisherNamespaces: ['elsewhere'] }],
  ])(
    'refuses a topic of another namespace without its consent to publish (%s), and nothing else',
    (_, consent) => {
      const audit = topic('audit', { namespace: 'ops' });
      audit.spec = { ...audit.spec, ...consent };
      const deps = resolveDependencies(
        svc({ ...spec, publishes: [...spec.publishes, { topicRef: { name: 'audit', namespace: 'ops' } }] }),
        lookup(queue()),
        lookup(topic('payment-events'), audit),
      );
      expect(deps.topics.map((t) => t.name)).toEqual(['payment-events']);
      expect(deps.waits).toEqual([]);
      expect(deps.refused).toEqual([
        {
          reason: 'TopicNotAllowed',
          message:
            'EventTopic ops/audit does not list namespace shop in spec.allowedPublisherNamespaces, so it may not be published to from there',
        },
      ]);
      expect(referencesCondition(deps)).toMatchObject({ status: 'False', reason: 'TopicNotAllowed' });
    },
  );

  it('acts once on two entries naming one topic, and reports the repeat', () => {
    const deps = resolveDependencies(
      svc({
        publishes: [
          { topicRef: { name: 'payment-events' } },
          { topicRef: { name: 'payment-events', namespace: 'shop' }, envName: 'OTHER_TOPIC_ARN' },
        ],
      }),
      lookup<ConsumerQueue>(),
      lookup(topic('payment-events')),
    );
    expect(deps.topics.map((t) => t.envName)).toEqual(['PAYMENT_EVENTS_TOPIC_ARN']);
    expect(deps.refused).toEqual([
      {
        reason: 'RepeatedReference',
        message:
          'spec.publishes[1] names EventTopic shop/payment-events again (as spec.publishes[0] does); only the first entry is used',
      },
    ]);
    const env = desiredEnv(svc().spec, deps, settings);
    expect(env.filter((e) => e.value === topicArn('payment-events'))).toHaveLength(1);
  });

  it('names everything it waits for', () => {
    const deps = resolveDependencies(svc(spec), lookup<ConsumerQueue>(), lookup<EventTopic>());
    expect(referencesCondition(deps)).toMatchObject({
      status: 'False',
      reason: 'QueueNotFound',
      message:
        'ConsumerQueue shop/payment-orders does not exist; EventTopic shop/payment-events does not exist',
    });
  });
});

describe('environment', () => {
  it('injects queue, DLQ, topics (sorted), region and the SQS and SNS endpoints first, then the spec’s own', () => {
    const s = svc({
      env: [
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'URL', value: '$(QUEUE_URL)' },
      ],
    });
    const env = desiredEnv(
      s.spec,
      {
        queue: resolvedQueue,
        topics: [
          { namespace: 'shop', name: 'z', arn: 'arn-z', envName: 'Z_TOPIC_ARN', kmsKeyId: undefined },
          { namespace: 'shop', name: 'a', arn: 'arn-a', envName: 'A_TOPIC_ARN', kmsKeyId: undefined },
        ],
      },
      { region: 'eu-west-1', awsEndpoint: 'http://moto:5000' },
    );
    expect(env.map((e) => [e.name, e.value])).toEqual([
      ['QUEUE_URL', QUEUE_URL],
      ['DEAD_LETTER_QUEUE_URL', DLQ_URL],
      ['A_TOPIC_ARN', 'arn-a'],
      ['Z_TOPIC_ARN', 'arn-z'],
      ['AWS_REGION', 'eu-west-1'],
      ['AWS_ENDPOINT_URL_SQS', 'http://moto:5000'],
      ['AWS_ENDPOINT_URL_SNS', 'http://moto:5000'],
      ['LOG_LEVEL', 'debug'],
      ['URL', '$(QUEUE_URL)'],
    ]);
  });

  it('passes spec.consumer on as the CONSUMER_* variables the services read, and only what is set', () => {
    const s = svc({ consumer: { concurrency: 50, retryBudgetSeconds: 600, handlerTimeoutSeconds: 30 } });
    const env = desiredEnv(s.spec, { queue: undefined, topics: [] }, settings);
    expect(env.filter((e) => e.name.startsWith('CONSUMER_'))).toEqual([
      { name: 'CONSUMER_CONCURRENCY', value: '50' },
      { name: 'CONSUMER_RETRY_BUDGET_SECONDS', value: '600' },
      { name: 'CONSUMER_HANDLER_TIMEOUT_SECONDS', value: '30' },
    ]);
    // What the operator passes on, the services' runtime accepts.
    const read = runtimeEnv(Object.fromEntries(env.map((e) => [e.name, e.value])));
    expect(read.consumer).toMatchObject({
      concurrency: 50,
      retryBudgetSeconds: 600,
      handlerTimeoutSeconds: 30,
    });
    expect(
      envCollisions(
        svc({ consumer: { batchSize: 5 }, env: [{ name: 'CONSUMER_BATCH_SIZE', value: '3' }] }).spec,
        'shop',
      ),
    ).toEqual(['CONSUMER_BATCH_SIZE would carry spec.consumer.batchSize and spec.env']);
  });

  it('bounds spec.consumer as the services do', () => {
    for (const [field, tuning] of Object.entries(CONSUMER_TUNING)) {
      const at = (value: number) =>
        EcommerceServiceSpecSchema.safeParse({ image: 'x:1', consumer: { [field]: value } }).success;
      expect([at(tuning.min), at(tuning.max), at(tuning.min - 1), at(tuning.max + 1)]).toEqual([
        true,
        true,
        false,
        false,
      ]);
      const runtime = (value: number) => {
        try {
          runtimeEnv({ AWS_REGION: 'eu-west-1', [tuning.env]: String(value) });
          return true;
        } catch {
          return false;
        }
      };
      expect([
        runtime(tuning.min),
        runtime(tuning.max),
        runtime(tuning.min - 1),
        runtime(tuning.max + 1),
      ]).toEqual([true, true, false, false]);
    }
  });

  it('sets neither queue variables without a queue nor an endpoint without an override', () => {
    const env = desiredEnv(svc().spec, { queue: undefined, topics: [] }, settings);
    expect(env).toEqual([{ name: 'AWS_REGION', value: 'us-east-1' }]);
  });

  it('leaves DEAD_LETTER_QUEUE_URL out for a queue without a DLQ', () => {
    const env = desiredEnv(
      svc().spec,
      { queue: { ...resolvedQueue, deadLetterUrl: undefined }, topics: [] },
      settings,
    );
    expect(env.map((e) => e.name)).toEqual(['QUEUE_URL', 'AWS_REGION']);
  });

  it.each([
    ['no collision', [{ topicRef: { name: 'a' } }, { topicRef: { name: 'b' } }], []],
    [
      'two topics of one name in two namespaces',
      [{ topicRef: { name: 'events' } }, { topicRef: { name: 'events', namespace: 'ops' } }],
      ['EVENTS_TOPIC_ARN would carry the ARN of EventTopic events and the ARN of EventTopic ops/events'],
    ],
    [
      "'-' and '.' alike",
      [{ topicRef: { name: 'order-events' } }, { topicRef: { name: 'order.events' } }],
      [
        'ORDER_EVENTS_TOPIC_ARN would carry the ARN of EventTopic order-events and the ARN of EventTopic order.events',
      ],
    ],
    [
      'an envName equal to another topic’s default',
      [{ topicRef: { name: 'a' } }, { topicRef: { name: 'b' }, envName: 'A_TOPIC_ARN' }],
      ['A_TOPIC_ARN would carry the ARN of EventTopic a and the ARN of EventTopic b'],
    ],
    [
      'an envName that resolves it',
      [
        { topicRef: { name: 'events' } },
        { topicRef: { name: 'events', namespace: 'ops' }, envName: 'OPS_EVENTS_TOPIC_ARN' },
      ],
      [],
    ],
    [
      'one topic named twice (only the first entry sets anything)',
      [{ topicRef: { name: 'events' } }, { topicRef: { name: 'events', namespace: 'shop' } }],
      [],
    ],
  ])('collisions: %s', (_, publishes, expected) => {
    expect(envCollisions(svc({ publishes }).spec, 'shop')).toEqual(expected);
  });

  it.each([
    ['AWS_ROLE_ARN', "AWS_ROLE_ARN would carry the pod's AWS identity (spec.identity) and spec.env"],
    [
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      "AWS_CONTAINER_CREDENTIALS_FULL_URI would carry the pod's AWS identity (spec.identity) and spec.env",
    ],
    ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SQS would carry the operator and spec.env'],
  ])('spec.env may not set %s', (name, message) => {
    expect(envCollisions(svc({}).spec, 'shop')).toEqual([]);
    // Admission refuses these names; the controller refuses them too, should one get past.
    const spec = { ...svc({}).spec, env: [{ name, value: 'x' }] };
    expect(envCollisions(spec, 'shop')).toEqual([message]);
  });
});

describe('ServiceAccount', () => {
  it.each([
    [
      'IRSA: annotated with the role',
      { identity: { roleArn: 'arn:aws:iam::123456789012:role/payment' } },
      'payment-service',
      { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/payment' },
    ],
    [
      'Pod Identity: no annotation',
      { identity: { podIdentity: { roleArn: 'arn:aws:iam::123456789012:role/payment' } } },
      'payment-service',
      undefined,
    ],
    ['named by the spec', { serviceAccountName: 'payments' }, 'payments', undefined],
  ])('%s', (_, spec, name, annotations) => {
    const sa = desiredServiceAccount(svc(spec));
    expect(sa.metadata.name).toBe(name);
    expect(sa.metadata.annotations).toEqual(annotations);
    expect(sa.metadata.namespace).toBe('shop');
  });
});

describe('Deployment', () => {
  type Container = Record<string, unknown> & { env: unknown[]; securityContext: unknown };
  type PodSpec = Record<string, unknown> & { containers: Container[] };
  const podSpec = (spec: Record<string, unknown> = {}, grace = 50): PodSpec => {
    const d = desiredDeployment(svc(spec), [{ name: 'AWS_REGION', value: 'us-east-1' }], grace);
    return (d['spec'] as { template: { spec: PodSpec } }).template.spec;
  };

  it('never sets replicas: the scaler or the HPA owns them', () => {
    const d = desiredDeployment(svc(), [], 30);
    expect(d['spec']).not.toHaveProperty('replicas');
    expect((d['spec'] as { selector: unknown }).selector).toEqual({
      matchLabels: { 'pubsub.ecommerce.io/service': 'payment-service' },
    });
  });

  it('runs restricted: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root with /tmp', () => {
    const pod = podSpec();
    expect(pod['securityContext']).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.containers;
    expect(container?.securityContext).toEqual(CONTAINER_SECURITY_CONTEXT);
    expect(CONTAINER_SECURITY_CONTEXT).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container?.['volumeMounts']).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod['volumes']).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it.each([
    ['no port: no ports, no probes', {}, undefined, undefined],
    [
      'a port: named port and HTTP probes on healthPath',
      { port: 8080, healthPath: '/ready' },
      [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      { path: '/ready', port: 'http', scheme: 'HTTP' },
    ],
  ])('%s', (_, spec, ports, httpGet) => {
    const [container] = podSpec(spec).containers;
    expect(container?.['ports']).toEqual(ports);
    expect((container?.['readinessProbe'] as { httpGet?: unknown } | undefined)?.httpGet).toEqual(httpGet);
    expect((container?.['livenessProbe'] as { httpGet?: unknown } | undefined)?.httpGet).toEqual(httpGet);
  });

  it('probes readiness on readinessPath when one is given, liveness on healthPath', () => {
    const [container] = podSpec({ port: 8080, readinessPath: '/readyz' }).containers;
    expect((container?.['readinessProbe'] as { httpGet?: { path?: string } }).httpGet?.path).toBe('/readyz');
    expect((container?.['livenessProbe'] as { httpGet?: { path?: string } }).httpGet?.path).toBe('/healthz');
  });

  it('carries image, command, args, env, resources and the ServiceAccount', () => {
    const pod = podSpec({
      command: ['node'],
      args: ['payment-service'],
      resources: { requests: { cpu: '100m' }, limits: { memory: '256Mi' } },
      serviceAccountName: 'payments',
    });
    expect(pod['serviceAccountName']).toBe('payments');
    expect(pod['terminationGracePeriodSeconds']).toBe(50);
    expect(pod.containers[0]).toMatchObject({
      name: 'service',
      image: 'ghcr.io/example/payment:1.4.2',
      command: ['node'],
      args: ['payment-service'],
      env: [{ name: 'AWS_REGION', value: 'us-east-1' }],
      resources: { requests: { cpu: '100m' }, limits: { memory: '256Mi' } },
    });
  });

  it.each([
    ['the spec’s own', { terminationGracePeriodSeconds: 7 }, resolvedQueue, 7],
    ['visibility timeout plus receive wait', {}, resolvedQueue, 50],
    [
      'a longer visibility timeout',
      {},
      { ...resolvedQueue, visibilityTimeoutSeconds: 300, receiveWaitTimeSeconds: 0 },
      300,
    ],
    ['no queue: the Kubernetes default', {}, undefined, 30],
  ])('grace period: %s', (_, spec, q, expected) => {
    expect(gracePeriodSeconds(svc(spec).spec, q)).toBe(expected);
  });
});

describe('Service and PodDisruptionBudget', () => {
  it('a Service only with a port', () => {
    expect(desiredService(svc())).toBeUndefined();
    expect(desiredService(svc({ port: 8080 }))?.['spec']).toEqual({
      selector: { 'pubsub.ecommerce.io/service': 'payment-service' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    });
  });

  it.each([
    ['maxReplicas 1: none', { scaling: { minReplicas: 1, maxReplicas: 1 } }, undefined],
    ['more replicas possible: maxUnavailable 1', {}, 1],
    [
      'from 0 to 2: still one',
      { consumes: { queueRef: { name: 'q' } }, scaling: { minReplicas: 0, maxReplicas: 2 } },
      1,
    ],
    ['the spec’s number', { disruption: { maxUnavailable: 2 } }, 2],
    ['the spec’s percentage', { disruption: { maxUnavailable: '25%' } }, '25%'],
  ])('PDB: %s', (_, spec, maxUnavailable) => {
    const pdb = desiredPodDisruptionBudget(svc(spec));
    if (maxUnavailable === undefined) expect(pdb).toBeUndefined();
    else
      expect(pdb?.['spec']).toEqual({
        selector: { matchLabels: { 'pubsub.ecommerce.io/service': 'payment-service' } },
        maxUnavailable,
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      });
  });

  it.each([
    ['payment-service', undefined],
    ['1st-service', 'not a valid Service name'],
    ['a.b', 'not a valid Service name'],
    ['x'.repeat(64), 'not a valid Service name'],
  ])('Service name %s', (name, problem) => {
    const found = serviceNameProblem(name);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('label values stay within 63 characters, stably', () => {
    const long = 'a'.repeat(100);
    expect(labelValue('payment-service')).toBe('payment-service');
    expect(labelValue(long)).toHaveLength(63);
    expect(labelValue(long)).toBe(labelValue(long));
    expect(labelValue(long)).not.toBe(labelValue(`${long}b`));
  });
});

describe('autoscaler objects', () => {
  it('CPU: an autoscaling/v2 HPA on the Deployment at the spec’s or the default utilization', () => {
    const hpa = desiredHorizontalPodAutoscaler(
      svc({
        resources: { requests: { cpu: '100m' } },
        scaling: { engine: 'CPU', minReplicas: 2, maxReplicas: 6 },
      }),
      70,
    );
    expect(hpa).toMatchObject({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' });
    expect(hpa['spec']).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payment-service' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    });
    const custom = desiredHorizontalPodAutoscaler(
      svc({
        resources: { requests: { cpu: '1' } },
        scaling: { engine: 'CPU', cpu: { targetUtilizationPercent: 55 } },
      }),
      70,
    );
    expect(JSON.stringify(custom['spec'])).toContain('"averageUtilization":55');
  });

  it('KEDA: an aws-sqs-queue trigger with the queue-depth settings, behavior and cooldown from the window', () => {
    const s = svc({
      consumes: { queueRef: { name: 'payment-orders' } },
      scaling: {
        engine: 'KEDA',
        minReplicas: 0,
        maxReplicas: 8,
        queueDepth: {
          targetPerReplica: 3,
          activation: 2,
          includeDelayed: true,
          pollIntervalSeconds: 15,
          scaleDownStabilizationSeconds: 60,
          maxScaleUpStep: 2,
        },
      },
    });
    const so = desiredScaledObject(s, resolvedQueue, {
      region: 'us-east-1',
      awsEndpoint: 'http://moto:5000',
    });
    expect(so).toMatchObject({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' });
    expect(so['spec']).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payment-service' },
      pollingInterval: 15,
      cooldownPeriod: 60,
      minReplicaCount: 0,
      maxReplicaCount: 8,
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: {
            scaleDown: { stabilizationWindowSeconds: 60 },
            scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] },
          },
        },
      },
      triggers: [
        {
          type: 'aws-sqs-queue',
          name: 'queue-depth',
          authenticationRef: { name: 'payment-service' },
          metadata: {
            queueURL: QUEUE_URL,
            queueLength: '3',
            activationQueueLength: '2',
            scaleOnInFlight: 'true',
            scaleOnDelayed: 'true',
            awsRegion: 'us-east-1',
            awsEndpoint: 'http://moto:5000',
          },
        },
      ],
    });
  });

  it('KEDA: scaling.age adds an aws-cloudwatch trigger on the oldest message', () => {
    const s = svc({
      consumes: { queueRef: { name: 'payment-orders' } },
      scaling: { engine: 'KEDA', age: { maxAgeSeconds: 90 } },
    });
    const so = desiredScaledObject(s, resolvedQueue, settings);
    const triggers = (so['spec'] as { triggers: { type: string; metadata: Record<string, string> }[] })
      .triggers;
    expect(triggers.map((t) => t.type)).toEqual(['aws-sqs-queue', 'aws-cloudwatch']);
    expect(triggers[1]?.metadata).toMatchObject({
      namespace: 'AWS/SQS',
      dimensionName: 'QueueName',
      dimensionValue: 'pubsub_shop_payment-orders',
      metricName: 'ApproximateAgeOfOldestMessage',
      targetMetricValue: '90',
    });
    expect(triggers[0]?.metadata).not.toHaveProperty('awsEndpoint');
  });

  it.each([
    ['IRSA', { roleArn: 'arn:aws:iam::123456789012:role/p' }, { provider: 'aws', identityOwner: 'keda' }],
    [
      'Pod Identity with a role',
      { podIdentity: { roleArn: 'arn:aws:iam::123456789012:role/p' } },
      { provider: 'aws', identityOwner: 'keda' },
    ],
    ['no identity', undefined, { provider: 'aws', identityOwner: 'keda' }],
  ])(
    'TriggerAuthentication, %s: KEDA’s own identity, never the workload’s role',
    (_, identity, podIdentity) => {
      const ta = desiredTriggerAuthentication(svc(identity ? { identity } : {}));
      expect(ta).toMatchObject({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        spec: { podIdentity },
      });
    },
  );
});

describe('conditions from the Deployment', () => {
  const deployment = (
    replicas: number,
    status: DeploymentState['status'],
    generation = 2,
  ): DeploymentState => ({
    metadata: { name: 'payment-service', generation },
    spec: { replicas },
    status: { observedGeneration: 2, ...status },
  });
  const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' };

  it.each([
    [
      'all available',
      deployment(2, { replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 }),
      'True',
      'Available',
    ],
    [
      'too few available',
      deployment(3, { replicas: 3, updatedReplicas: 3, availableReplicas: 1 }),
      'False',
      'RollingOut',
    ],
    [
      'old pods still there',
      deployment(2, { replicas: 3, updatedReplicas: 2, availableReplicas: 2 }),
      'False',
      'RollingOut',
    ],
    [
      'change not yet observed',
      deployment(1, { replicas: 1, updatedReplicas: 1, availableReplicas: 1 }, 3),
      'False',
      'RollingOut',
    ],
    ['scaled to zero', deployment(0, {}), 'True', 'ScaledToZero'],
  ])('Ready: %s', (_, d, status, reason) => {
    expect(readiness(d)).toMatchObject({ status, reason });
  });

  it.each([
    [
      'mirrors the Deployment',
      deployment(1, { conditions: [available] }),
      'True',
      'MinimumReplicasAvailable',
    ],
    ['unknown before the Deployment reports', deployment(1, {}), 'Unknown', 'DeploymentPending'],
    [
      'a rollout past its deadline',
      deployment(1, {
        conditions: [
          { ...available, status: 'False', reason: 'MinimumReplicasUnavailable' },
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' },
        ],
      }),
      'False',
      'ProgressDeadlineExceeded',
    ],
    ['zero replicas is available', deployment(0, {}), 'True', 'ScaledToZero'],
  ])('Available: %s', (_, d, status, reason) => {
    expect(availability(d)).toMatchObject({ status, reason });
  });
});
