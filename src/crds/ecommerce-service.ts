// EcommerceService: a workload wired to its queue and topics, with an AWS identity and queue-depth scaling.
import { z } from 'zod';
import {
  ConditionsSchema,
  ObservedGenerationSchema,
  TopicRefSchema,
  defaultedObject,
  eachTopicOnce,
  formatted,
  objectName,
  resourceSchema,
} from './common.ts';
import { defineKind } from './crd.ts';
import { doc } from './structural.ts';

/**
 * The endpoint override of the operator reaches pods only as these per-service variables (which
 * the AWS SDKs read), never as AWS_ENDPOINT_URL, which would apply to every AWS service a pod calls.
 */
export const ENDPOINT_ENV = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SNS'] as const;
/** Environment variables the operator sets itself; a service may not define them. */
export const INJECTED_ENV = ['QUEUE_URL', 'DEAD_LETTER_QUEUE_URL', 'AWS_REGION', ...ENDPOINT_ENV] as const;
/**
 * Environment variables that choose the pod's AWS identity (web identity, container credentials).
 * The identity comes from spec.identity and the platform's webhooks; spec.env may not set them.
 */
export const IDENTITY_ENV = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_SESSION_NAME',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
] as const;
/**
 * spec.consumer's fields and the variables the operator passes them on as; the services' consumer
 * runtime reads them (services/consumer/config.ts), with the same bounds.
 */
export const CONSUMER_TUNING = {
  concurrency: {
    env: 'CONSUMER_CONCURRENCY',
    min: 1,
    max: 1000,
    text: 'Messages a replica holds at once (received, not yet deleted or released). Default 10.',
  },
  batchSize: {
    env: 'CONSUMER_BATCH_SIZE',
    min: 1,
    max: 10,
    text: 'Messages asked for per receive, 1-10. Default 10.',
  },
  waitTimeSeconds: {
    env: 'CONSUMER_WAIT_TIME_SECONDS',
    min: 0,
    max: 20,
    text: 'Long-poll wait of a receive, 0-20 seconds. Default 20.',
  },
  retryBudgetSeconds: {
    env: 'CONSUMER_RETRY_BUDGET_SECONDS',
    min: 0,
    max: 43_200,
    text: "Seconds a failing message is retried in the replica (kept invisible, with exponential backoff and jitter) before the failure counts towards the queue's maxReceiveCount. Default 300.",
  },
  handlerTimeoutSeconds: {
    env: 'CONSUMER_HANDLER_TIMEOUT_SECONDS',
    min: 1,
    max: 43_200,
    text: 'Seconds one attempt at a message may take before it is aborted and counted as failed. Default 60.',
  },
  sdkTimeoutSeconds: {
    env: 'CONSUMER_SDK_TIMEOUT_SECONDS',
    min: 1,
    max: 300,
    text: 'Seconds one SQS or SNS call may take (a receive: this plus its wait). Default 10.',
  },
} as const;
export type ConsumerTuningField = keyof typeof CONSUMER_TUNING;

/** Suffix of the variables that carry the ARNs of published topics. */
export const TOPIC_ARN_ENV_SUFFIX = '_TOPIC_ARN';
/** Target CPU utilisation of the CPU engine when spec.scaling.cpu is left out. */
export const DEFAULT_CPU_TARGET_PERCENT = 70;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_WORDS = "letters, digits and '_', not starting with a digit";

const IAM_ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/([!-~]*\/)?[A-Za-z0-9+=,.@_-]{1,64}$/;
const roleArn = () =>
  formatted(
    IAM_ROLE_ARN,
    2048,
    'must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<optional path/><role name of at most 64 characters>',
  );

// A non-negative Kubernetes resource quantity, for example 250m, 1.5, 512Mi, 2G, 1e3.
const QUANTITY =
  /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+))?$/;
const quantity = () =>
  z.union([
    z.int().min(0),
    formatted(QUANTITY, 64, 'must be a Kubernetes quantity such as 250m, 0.5, 512Mi or 2Gi'),
  ]);
const ResourceListSchema = z.record(z.string(), quantity()).meta({ maxProperties: 16 });

const KeyRefSchema = (kind: string) =>
  z
    .object({
      name: objectName().describe(`Name of the ${kind} in the service's namespace.`),
      key: formatted(
        /^[-._a-zA-Z0-9]+$/,
        253,
        'must be a key of the ' + kind + ": letters, digits, '-', '_' and '.'",
      ).describe(`Key within the ${kind}.`),
      optional: z
        .boolean()
        .optional()
        .describe(`Start the container even if the ${kind} or its key is missing.`),
    })
    .optional()
    .describe(`Take the value from a key of a ${kind}.`);

const FIELD_PATH =
  /^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['[^']+'\]|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs))$/;

export const EnvVarSchema = z
  .object({
    name: formatted(ENV_NAME, 256, `env names must use only ${ENV_NAME_WORDS}`).meta(
      doc(
        `Name of the variable: ${ENV_NAME_WORDS}. The operator's own variables (${INJECTED_ENV.join(', ')} and names ending in ${TOPIC_ARN_ENV_SUFFIX}) are reserved, and so are those that choose the pod's AWS identity (${IDENTITY_ENV.join(', ')}).`,
        {
          rule: `!(self in [${INJECTED_ENV.map((n) => `'${n}'`).join(', ')}])`,
          message: `env name is reserved: the operator sets ${INJECTED_ENV.join(', ')} itself`,
        },
        {
          rule: `!(self in [${IDENTITY_ENV.map((n) => `'${n}'`).join(', ')}])`,
          message: `env name is reserved: ${IDENTITY_ENV.join(', ')} choose the pod's AWS identity, which comes from spec.identity`,
        },
        {
          rule: `!self.endsWith('${TOPIC_ARN_ENV_SUFFIX}')`,
          message: `env names ending in ${TOPIC_ARN_ENV_SUFFIX} are reserved for the ARNs of published topics; use spec.publishes[].envName to rename one`,
        },
      ),
    ),
    value: z.string().max(32768).optional().describe('Literal value. Cannot be combined with valueFrom.'),
    valueFrom: z
      .object({
        secretKeyRef: KeyRefSchema('Secret'),
        configMapKeyRef: KeyRefSchema('ConfigMap'),
        fieldRef: z
          .object({
            fieldPath: formatted(
              FIELD_PATH,
              512,
              "fieldPath must be one of metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs",
            ).describe("Field of the pod, for example metadata.name or metadata.labels['app']."),
          })
          .optional()
          .describe('Take the value from a field of the pod.'),
      })
      .meta(
        doc('Where the value comes from: exactly one of secretKeyRef, configMapKeyRef or fieldRef.', {
          rule: '(has(self.secretKeyRef) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) + (has(self.fieldRef) ? 1 : 0) == 1',
          message: 'valueFrom needs exactly one of secretKeyRef, configMapKeyRef or fieldRef',
        }),
      )
      .optional(),
  })
  .meta(
    doc('An environment variable of the container.', {
      rule: '!(has(self.value) && has(self.valueFrom))',
      message: 'env: set either value or valueFrom, not both',
    }),
  );
export type EnvVar = z.output<typeof EnvVarSchema>;

export const PublishSchema = z
  .object({
    topicRef: TopicRefSchema.describe(
      'The EventTopic the service publishes to, in this namespace unless namespace is set.',
    ),
    envName: formatted(
      new RegExp(`^[A-Za-z_][A-Za-z0-9_]*${TOPIC_ARN_ENV_SUFFIX}$`),
      256,
      `envName must use only ${ENV_NAME_WORDS} and end in ${TOPIC_ARN_ENV_SUFFIX}`,
    )
      .optional()
      .describe(
        `Name of the environment variable that carries the topic's ARN; it must end in ${TOPIC_ARN_ENV_SUFFIX}. Default: the topic's name in upper case, '-' and '.' replaced by '_', followed by ${TOPIC_ARN_ENV_SUFFIX} (order-events gives ORDER_EVENTS${TOPIC_ARN_ENV_SUFFIX}).`,
      ),
  })
  .describe('A topic the service publishes to.');
export type Publish = z.output<typeof PublishSchema>;

export const IdentitySchema = z
  .object({
    roleArn: roleArn()
      .optional()
      .describe(
        'IAM role for IRSA: the ServiceAccount is annotated with it and pods assume it through their web identity token.',
      ),
    podIdentity: z
      .object({
        roleArn: roleArn()
          .optional()
          .describe(
            'IAM role the EKS Pod Identity association points at. Default: the association is managed outside the operator.',
          ),
      })
      .optional()
      .describe('Use EKS Pod Identity for the ServiceAccount instead of IRSA.'),
  })
  .meta(
    doc(
      "AWS identity of the service's pods: exactly one of roleArn (IRSA) or podIdentity. The operator reports the least-privilege policy the role needs in status.iamPolicy.",
      {
        rule: 'has(self.roleArn) != has(self.podIdentity)',
        message: 'identity needs exactly one of roleArn (IRSA) or podIdentity',
      },
    ),
  );
export type Identity = z.output<typeof IdentitySchema>;

export const QueueDepthScalingSchema = defaultedObject(
  z
    .object({
      targetPerReplica: z
        .int()
        .min(1)
        .default(5)
        .describe(
          'Messages per replica the scaler aims for: desired replicas = ceil(backlog / targetPerReplica). Default 5.',
        ),
      activation: z
        .int()
        .min(0)
        .default(0)
        .describe(
          'Backlog above which a service at zero replicas is woken up. Default 0: any message wakes it.',
        ),
      includeInFlight: z
        .boolean()
        .default(true)
        .describe('Count messages being processed (in flight) as backlog. Default true.'),
      includeDelayed: z
        .boolean()
        .default(false)
        .describe('Count delayed messages as backlog. Default false.'),
      pollIntervalSeconds: z
        .int()
        .min(5)
        .max(3600)
        .default(10)
        .describe('How often the queue is measured, in seconds. Range 5-3600; default 10.'),
      scaleDownStabilizationSeconds: z
        .int()
        .min(0)
        .max(3600)
        .default(120)
        .describe(
          'How long the desired replica count must stay lower before the service scales down, in seconds. Range 0-3600; default 120.',
        ),
      maxScaleUpStep: z
        .int()
        .min(1)
        .optional()
        .describe(
          'Most replicas the Builtin scaler adds in one poll. Default: the larger of 4 and the current replica count (at most doubling, as the HorizontalPodAutoscaler does), never beyond maxReplicas.',
        ),
      publishBacklogMetric: z
        .boolean()
        .optional()
        .describe(
          'Publish the backlog per replica the Builtin scaler computes at each poll as the CloudWatch metric PubSubOperator/BacklogPerReplica with the dimensions Namespace and Service, for dashboards and alarms: the metric AWS recommends for scaling queue workers. One PutMetricData per poll. Builtin engine only. Default false.',
        ),
    })
    .describe('Queue-depth scaling settings, used by the Builtin and KEDA engines.'),
);
export type QueueDepthScaling = z.output<typeof QueueDepthScalingSchema>;

export const ScalingSchema = defaultedObject(
  z
    .object({
      engine: z
        .enum(['Builtin', 'KEDA', 'CPU'])
        .default('Builtin')
        .describe(
          "What scales the service: Builtin (the operator scales on the depth of the consumed queue), KEDA (the operator writes a ScaledObject for KEDA's SQS scaler) or CPU (a HorizontalPodAutoscaler on CPU utilisation). A service that consumes no queue runs minReplicas under Builtin and KEDA. Default Builtin.",
        ),
      minReplicas: z
        .int()
        .min(0)
        .default(1)
        .describe(
          'Fewest replicas. 0 lets a queue-driven service sleep while its queue is empty (Builtin and KEDA only). Default 1.',
        ),
      maxReplicas: z
        .int()
        .min(1)
        .default(10)
        .describe('Most replicas, at least 1 and not below minReplicas. Default 10.'),
      queueDepth: QueueDepthScalingSchema,
      age: z
        .object({
          maxAgeSeconds: z
            .int()
            .min(1)
            .max(1_209_600)
            .describe(
              'Scale up when the oldest message has waited longer than this, in seconds (CloudWatch ApproximateAgeOfOldestMessage).',
            ),
        })
        .optional()
        .describe('Also scale on the age of the oldest message (Builtin and KEDA only).'),
      cpu: z
        .object({
          targetUtilizationPercent: z
            .int()
            .min(1)
            .max(100)
            .default(DEFAULT_CPU_TARGET_PERCENT)
            .describe(
              `Target average CPU utilisation, percent of the CPU request. Range 1-100; default ${DEFAULT_CPU_TARGET_PERCENT}.`,
            ),
        })
        .optional()
        .describe(
          `CPU scaling settings (engine CPU only). Default: target ${DEFAULT_CPU_TARGET_PERCENT} percent.`,
        ),
    })
    .meta(
      doc(
        'How the number of replicas follows the load.',
        {
          rule: 'self.minReplicas <= self.maxReplicas',
          message: 'scaling.minReplicas must not be greater than scaling.maxReplicas',
          fieldPath: '.minReplicas',
        },
        {
          rule: "self.engine != 'CPU' || self.minReplicas >= 1",
          message:
            'scaling.minReplicas 0 needs a queue-based engine (Builtin or KEDA); the CPU engine needs at least 1 replica',
          fieldPath: '.minReplicas',
        },
        {
          rule: "!has(self.cpu) || self.engine == 'CPU'",
          message: 'scaling.cpu applies only with engine CPU',
          fieldPath: '.cpu',
          reason: 'FieldValueForbidden',
        },
        {
          rule: "!has(self.queueDepth.publishBacklogMetric) || !self.queueDepth.publishBacklogMetric || self.engine == 'Builtin'",
          message:
            'scaling.queueDepth.publishBacklogMetric applies only with engine Builtin, the engine that measures the backlog',
          fieldPath: '.queueDepth.publishBacklogMetric',
          reason: 'FieldValueForbidden',
        },
        {
          rule: "!has(self.age) || self.engine != 'CPU'",
          message: 'scaling.age applies only with a queue-based engine (Builtin or KEDA)',
          fieldPath: '.age',
          reason: 'FieldValueForbidden',
        },
      ),
    ),
);
export type Scaling = z.output<typeof ScalingSchema>;

const stringList = (maxItems: number, description: string) =>
  z.array(z.string().max(4096)).max(maxItems).optional().describe(description);

export const EcommerceServiceSpecSchema = z
  .object({
    image: z
      .string()
      .min(1)
      .max(512)
      .describe('Container image of the service, for example ghcr.io/example/payment:1.4.2.'),
    command: stringList(
      64,
      "Entrypoint of the container (at most 64 entries). Default: the image's entrypoint.",
    ),
    args: stringList(128, "Arguments to the entrypoint (at most 128 entries). Default: the image's command."),
    port: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe(
        'HTTP port the service listens on. When set, the operator creates a Service and HTTP probes on healthPath.',
      ),
    healthPath: formatted(/^\/[!-~]*$/, 256, "healthPath must be an absolute HTTP path starting with '/'")
      .default('/healthz')
      .describe(
        'HTTP path of the liveness probe (and of the readiness probe unless readinessPath is set), used when port is set. Default /healthz.',
      ),
    readinessPath: formatted(
      /^\/[!-~]*$/,
      256,
      "readinessPath must be an absolute HTTP path starting with '/'",
    )
      .optional()
      .describe(
        'HTTP path of the readiness probe, used when port is set: a path that fails while the service cannot do its work (database or queue unreachable, draining on shutdown). Default: healthPath.',
      ),
    env: z
      .array(EnvVarSchema)
      .max(100)
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })
      .optional()
      .describe(
        'Environment variables of the container (at most 100), in addition to the ones the operator sets.',
      ),
    resources: z
      .object({
        requests: ResourceListSchema.optional().describe(
          'Resources the scheduler reserves, for example cpu: 250m, memory: 256Mi.',
        ),
        limits: ResourceListSchema.optional().describe('Most resources the container may use.'),
      })
      .meta(
        doc('Compute resources of the container.', {
          rule: '!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || !isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)',
          message: 'resources: each request must not exceed the limit of the same resource',
        }),
      )
      .optional(),
    consumes: z
      .object({
        queueRef: z
          .object({ name: objectName().describe("Name of the ConsumerQueue in the service's namespace.") })
          .describe('The ConsumerQueue to read from.'),
      })
      .optional()
      .describe(
        "The queue the service consumes. The operator sets QUEUE_URL and DEAD_LETTER_QUEUE_URL and scales on the queue's backlog.",
      ),
    consumer: z
      .object(
        Object.fromEntries(
          Object.entries(CONSUMER_TUNING).map(([field, t]) => [
            field,
            z.int().min(t.min).max(t.max).optional().describe(`${t.text} Passed on as ${t.env}.`),
          ]),
        ) as Record<ConsumerTuningField, z.ZodOptional<z.ZodInt>>,
      )
      .optional()
      .describe(
        "Tuning of the services' consumer runtime, passed on to the container as CONSUMER_* environment variables; what is left out keeps the runtime's default.",
      ),
    publishes: z
      .array(PublishSchema)
      .max(20)
      .meta(
        doc(
          `Topics the service publishes to (at most 20). Each gives an environment variable with the topic's ARN, named <TOPIC>${TOPIC_ARN_ENV_SUFFIX} unless envName says otherwise.`,
          eachTopicOnce('publishes: each EventTopic may appear only once'),
          {
            rule: 'self.all(a, !has(a.envName) || self.exists_one(b, has(b.envName) && b.envName == a.envName))',
            message: 'publishes: each envName may appear only once',
          },
        ),
      )
      .optional(),
    identity: IdentitySchema.optional(),
    serviceAccountName: objectName()
      .optional()
      .describe(
        'Name of the ServiceAccount the operator creates for the service. Default: the name of the EcommerceService.',
      ),
    terminationGracePeriodSeconds: z
      .int()
      .min(0)
      .optional()
      .describe(
        "Seconds a pod gets to finish in-flight messages after SIGTERM. Default: the consumed queue's visibilityTimeoutSeconds plus its receiveWaitTimeSeconds (a receive in progress, then the messages it returned), or 30 (the Kubernetes default) for a service that consumes no queue.",
      ),
    scaling: ScalingSchema,
    disruption: z
      .object({
        maxUnavailable: z
          .union([
            z.int().min(0),
            formatted(
              /^(100|[1-9]?[0-9])%$/,
              4,
              'maxUnavailable as a string must be a percentage from 0% to 100%',
            ),
          ])
          .describe(
            'Most pods that may be unavailable during a voluntary disruption: a number or a percentage such as 25%.',
          ),
      })
      .optional()
      .describe(
        'PodDisruptionBudget of the service, created whenever scaling.maxReplicas is above 1. Default: maxUnavailable 1.',
      ),
  })
  .meta(
    doc(
      'Desired state of the service.',
      {
        rule: 'self.scaling.minReplicas > 0 || has(self.consumes)',
        message:
          'scaling.minReplicas 0 needs spec.consumes: only a queue can wake a service that has no replicas',
        fieldPath: '.scaling.minReplicas',
      },
      {
        rule: "self.scaling.engine != 'CPU' || (has(self.resources) && has(self.resources.requests) && 'cpu' in self.resources.requests)",
        message: 'scaling.engine CPU scales on utilisation of the CPU request: set resources.requests.cpu',
        fieldPath: '.scaling.engine',
      },
    ),
  );

export const EcommerceServiceStatusSchema = z
  .object({
    replicas: z.int().min(0).optional().describe('Pods of the Deployment.'),
    readyReplicas: z.int().min(0).optional().describe('Pods that are ready.'),
    desiredReplicas: z
      .int()
      .min(0)
      .optional()
      .describe('Replicas the scaler asked for at its last decision.'),
    backlog: z.int().min(0).optional().describe('Messages the scaler counted at its last poll.'),
    lastScaleTime: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the scaler last changed the replica count.'),
    serviceAccountName: z.string().optional().describe('ServiceAccount the pods run as.'),
    iamPolicy: z
      .string()
      .optional()
      .describe("Least-privilege IAM policy (JSON) the service's role needs: exactly its queue and topics."),
    trustPolicy: z
      .string()
      .optional()
      .describe(
        "IAM trust policy (JSON) that lets the service's ServiceAccount, and only it, assume the role.",
      ),
    kedaPolicy: z
      .string()
      .optional()
      .describe(
        "With scaling.engine KEDA: the read-only IAM policy (JSON) KEDA's own role needs to scale this service (sqs:GetQueueAttributes on its queue; cloudwatch:GetMetricData with scaling.age). Grant KEDA's role the union of these policies; KEDA never assumes the service's role.",
      ),
    podIdentityAssociation: z
      .object({
        namespace: z.string().describe("Namespace of the association: the service's own."),
        serviceAccount: z.string().describe('ServiceAccount of the association.'),
        roleArn: z.string().optional().describe('IAM role of the association, when spec.identity names one.'),
      })
      .optional()
      .describe(
        'With spec.identity.podIdentity: the EKS Pod Identity association that must exist for the pods to get credentials (aws eks create-pod-identity-association --cluster-name <cluster> --namespace <namespace> --service-account <serviceAccount> --role-arn <roleArn>). The operator does not create it.',
      ),
    observedGeneration: ObservedGenerationSchema,
    conditions: ConditionsSchema,
  })
  .describe('Observed state of the service, written by the operator.');

export const EcommerceServiceSchema = resourceSchema(
  'EcommerceService',
  EcommerceServiceSpecSchema,
  EcommerceServiceStatusSchema,
);

/** EcommerceService spec as stored, with every default applied. */
export type EcommerceServiceSpec = z.output<typeof EcommerceServiceSpecSchema>;
/** EcommerceService spec as a user writes it: fields with defaults may be left out. */
export type EcommerceServiceSpecInput = z.input<typeof EcommerceServiceSpecSchema>;
export type EcommerceServiceStatus = z.output<typeof EcommerceServiceStatusSchema>;
export type EcommerceService = z.output<typeof EcommerceServiceSchema>;

export const ecommerceServiceKind = defineKind(EcommerceServiceSchema, {
  shortName: 'esvc',
  description:
    'EcommerceService is a workload wired to its queue and topics: a ServiceAccount with an AWS identity, a Deployment, a Service when it serves HTTP, a PodDisruptionBudget and queue-depth scaling.',
  readyMeans: 'Whether the service is deployed and wired to its queue and topics.',
  columns: [
    {
      name: 'Replicas',
      type: 'integer',
      jsonPath: '.status.replicas',
      description: 'Pods of the Deployment.',
    },
    {
      name: 'Desired',
      type: 'integer',
      jsonPath: '.status.desiredReplicas',
      description: 'Replicas the scaler asked for.',
    },
    {
      name: 'Backlog',
      type: 'integer',
      jsonPath: '.status.backlog',
      description: 'Messages counted at the last poll.',
    },
    { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Container image.', priority: 1 },
  ],
});
