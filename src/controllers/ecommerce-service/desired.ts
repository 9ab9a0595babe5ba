// Pure: what an EcommerceService asks for, given the ConsumerQueue and EventTopics it references
// as the caches hold them: its environment, its ServiceAccount, Deployment, Service,
// PodDisruptionBudget and autoscaler objects, and how the Deployment's state reads as conditions.
import { createHash } from 'node:crypto';
import type {
  ConsumerQueue,
  EcommerceService,
  EcommerceServiceSpec,
  EnvVar,
  EventTopic,
  Publish,
} from '../../crds/index.ts';
import {
  CONSUMER_TUNING,
  ENDPOINT_ENV,
  IDENTITY_ENV,
  INJECTED_ENV,
  TOPIC_ARN_ENV_SUFFIX,
  type ConsumerTuningField,
} from '../../crds/index.ts';
import { apiVersionOf, type KubeObject } from '../../runtime/types.ts';
import { SCALED_OBJECTS, TRIGGER_AUTHENTICATIONS } from '../resources.ts';
import type { ServiceSettings } from './settings.ts';
import type { ConditionValue } from '../shared/outcome.ts';
import { describeKey, keyOf, repeatedReferences, resolveTopic, sameKey } from '../shared/references.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../shared/labels.ts';

/** The scaler's own field manager: it alone owns the Deployment's spec.replicas. */
export const SCALER_FIELD_MANAGER = 'pubsub-operator-scaler';
/** IRSA: the annotation the EKS pod identity webhook reads from a ServiceAccount. */
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** Label that selects a service's pods. */
export const SERVICE_LABEL = 'pubsub.ecommerce.io/service';
/** Name of the one container of a service's pods. */
export const CONTAINER_NAME = 'service';
/** Grace period of a service that consumes no queue: the Kubernetes default. */
export const DEFAULT_GRACE_SECONDS = 30;

/** A Kubernetes object as the operator writes it. */
export interface Manifest extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Inputs: the queue and topics, resolved against the caches.

export interface ResolvedQueue {
  namespace: string;
  name: string;
  url: string;
  arn: string;
  /** Physical name, for CloudWatch's QueueName dimension. */
  queueName: string;
  deadLetterUrl: string | undefined;
  visibilityTimeoutSeconds: number;
  receiveWaitTimeSeconds: number;
  kmsKeyId: string | undefined;
}

export interface ResolvedTopic {
  namespace: string;
  name: string;
  arn: string;
  envName: string;
  kmsKeyId: string | undefined;
}

/** Something a reference is waiting for, or why it grants nothing. */
export interface ReferenceProblem {
  reason: string;
  message: string;
}

/**
 * The service's references, resolved:
 * - `queue` and `topics`: what it may use and what exists (the queue's URL and ARN, each allowed
 *   topic's ARN); only these reach the pods and status.iamPolicy;
 * - `waits`: what the Deployment waits for (the queue without URL or ARN, an allowed topic without
 *   ARN); `missing` when something does not exist at all;
 * - `refused`: entries that grant nothing and never block the rest: a topic of another namespace
 *   that does not consent (TopicNotAllowed), an entry repeating an earlier one (RepeatedReference).
 */
export interface Dependencies {
  queue: ResolvedQueue | undefined;
  topics: ResolvedTopic[];
  waits: (ReferenceProblem & { missing: boolean })[];
  refused: ReferenceProblem[];
}

export type QueueLookup = (namespace: string, name: string) => ConsumerQueue | undefined;
export type TopicLookup = (namespace: string, name: string) => EventTopic | undefined;

/** NAME_TOPIC_ARN for topic `name`, unless the entry names its variable itself. */
export function topicEnvName(publish: Publish): string {
  return (
    publish.envName ?? `${publish.topicRef.name.toUpperCase().replace(/[-.]/g, '_')}${TOPIC_ARN_ENV_SUFFIX}`
  );
}

/** The ConsumerQueue as soon as its queue exists (URL and ARN in status); its Ready is not needed. */
function resolveQueue(
  namespace: string,
  name: string,
  lookupQueue: QueueLookup,
): ResolvedQueue | (ReferenceProblem & { missing: boolean }) {
  const cq = lookupQueue(namespace, name);
  const text = describeKey('ConsumerQueue', { namespace, name });
  const status = cq?.status;
  if (!cq) return { reason: 'QueueNotFound', message: `${text} does not exist`, missing: true };
  if (!status?.queueUrl || !status.queueArn)
    return { reason: 'QueueNotReady', message: `${text} has no SQS queue yet`, missing: false };
  return {
    namespace,
    name,
    url: status.queueUrl,
    arn: status.queueArn,
    queueName: status.queueName ?? status.queueArn.slice(status.queueArn.lastIndexOf(':') + 1),
    deadLetterUrl: status.deadLetterQueueUrl,
    visibilityTimeoutSeconds: cq.spec.visibilityTimeoutSeconds,
    receiveWaitTimeSeconds: cq.spec.receiveWaitTimeSeconds,
    kmsKeyId: cq.spec.encryption.kmsKeyId,
  };
}

/**
 * The queue and every published topic, each through the shared reference rules (canonical keys,
 * the topic's consent for publishing): what the service may use, what it waits for, and what is
 * refused. A refused or repeated entry is left out and reported; it never holds the others back.
 */
export function resolveDependencies(
  svc: EcommerceService,
  lookupQueue: QueueLookup,
  lookupTopic: TopicLookup,
): Dependencies {
  const namespace = svc.metadata?.namespace ?? '';
  const deps: Dependencies = { queue: undefined, topics: [], waits: [], refused: [] };
  const queueRef = svc.spec.consumes?.queueRef;
  if (queueRef) {
    const queue = resolveQueue(namespace, queueRef.name, lookupQueue);
    if ('url' in queue) deps.queue = queue;
    else deps.waits.push(queue);
  }
  const publishes = svc.spec.publishes ?? [];
  const repeated = new Set(
    repeatedReferences(
      publishes.map((p) => p.topicRef),
      namespace,
    ),
  );
  publishes.forEach((publish, index) => {
    const key = keyOf(publish.topicRef, namespace);
    if (repeated.has(index)) {
      const first = publishes.findIndex((p) => sameKey(keyOf(p.topicRef, namespace), key));
      deps.refused.push({
        reason: 'RepeatedReference',
        message: `spec.publishes[${index}] names ${describeKey('EventTopic', key)} again (as spec.publishes[${first}] does); only the first entry is used`,
      });
      return;
    }
    const resolved = resolveTopic(publish.topicRef, namespace, 'publish', lookupTopic);
    if (resolved.state === 'ready') {
      deps.topics.push({
        ...resolved.key,
        arn: resolved.topicArn,
        envName: topicEnvName(publish),
        kmsKeyId: resolved.topic.spec.encryption?.kmsKeyId,
      });
    } else if (resolved.state === 'waiting') {
      const missing = resolved.reason === 'TopicNotFound';
      deps.waits.push({ reason: resolved.reason, message: resolved.message, missing });
    } else {
      deps.refused.push({ reason: resolved.reason, message: resolved.message });
    }
  });
  return deps;
}

/**
 * The ReferencesResolved condition: True when the queue and every published topic are there and
 * allowed; else False with the first problem's reason and every problem named.
 */
export function referencesCondition(deps: Dependencies): ConditionValue {
  const problems = [...deps.waits, ...deps.refused];
  const first = problems[0];
  if (!first) {
    return {
      status: 'True',
      reason: 'Resolved',
      message: 'The consumed queue and every published topic exist and may be used',
    };
  }
  const refusedNote =
    deps.refused.length > 0 ? '. What is refused gets no variable and no IAM statement' : '';
  return {
    status: 'False',
    reason: first.reason,
    message: problems.map((p) => p.message).join('; ') + refusedNote,
  };
}

// ---------------------------------------------------------------------------------------------
// Environment.

/**
 * Environment variables that would be set twice, or that spec.env may not set: each message names
 * the variable and its sources. A publishes entry that repeats an earlier one is not acted on, so
 * it sets nothing. The variables that choose the pod's AWS identity come from spec.identity only.
 */
export function envCollisions(spec: EcommerceServiceSpec, namespace: string): string[] {
  const sources = new Map<string, string[]>();
  const add = (name: string, source: string) => sources.set(name, [...(sources.get(name) ?? []), source]);
  const publishes = spec.publishes ?? [];
  const repeated = new Set(
    repeatedReferences(
      publishes.map((p) => p.topicRef),
      namespace,
    ),
  );
  publishes.forEach((p, index) => {
    if (repeated.has(index)) return;
    const ref = p.topicRef.namespace ? `${p.topicRef.namespace}/${p.topicRef.name}` : p.topicRef.name;
    add(topicEnvName(p), `the ARN of EventTopic ${ref}`);
  });
  for (const [field, name] of consumerEnv(spec)) add(name, `spec.consumer.${field}`);
  const injected = new Set<string>(INJECTED_ENV);
  const identity = new Set<string>(IDENTITY_ENV);
  for (const e of spec.env ?? []) {
    if (injected.has(e.name)) add(e.name, 'the operator');
    if (identity.has(e.name)) add(e.name, "the pod's AWS identity (spec.identity)");
    if (sources.has(e.name)) add(e.name, 'spec.env');
  }
  return [...sources.entries()]
    .filter(([, from]) => from.length > 1)
    .map(([name, from]) => `${name} would carry ${from.join(' and ')}`)
    .sort();
}

/**
 * The container's environment: what the operator injects first (so spec.env values can refer to
 * it as $(QUEUE_URL)), topic variables sorted by name, then the spec's own variables in order. An
 * endpoint override is given as AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_SNS only, never as
 * AWS_ENDPOINT_URL, which the SDKs would apply to STS, KMS and every other service the pod calls.
 */
export function desiredEnv(
  spec: EcommerceServiceSpec,
  deps: { queue: ResolvedQueue | undefined; topics: readonly ResolvedTopic[] },
  settings: Pick<ServiceSettings, 'region' | 'awsEndpoint'>,
): EnvVar[] {
  const env: EnvVar[] = [];
  if (deps.queue) {
    env.push({ name: 'QUEUE_URL', value: deps.queue.url });
    if (deps.queue.deadLetterUrl)
      env.push({ name: 'DEAD_LETTER_QUEUE_URL', value: deps.queue.deadLetterUrl });
  }
  const topics = [...deps.topics].sort((a, b) => a.envName.localeCompare(b.envName));
  for (const t of topics) env.push({ name: t.envName, value: t.arn });
  env.push({ name: 'AWS_REGION', value: settings.region });
  const endpoint = settings.awsEndpoint;
  if (endpoint) for (const name of ENDPOINT_ENV) env.push({ name, value: endpoint });
  for (const [field, name] of consumerEnv(spec)) env.push({ name, value: String(tuningOf(spec)[field]) });
  return [...env, ...(spec.env ?? [])];
}

const tuningOf = (spec: EcommerceServiceSpec): Partial<Record<ConsumerTuningField, number>> =>
  spec.consumer ?? {};

/** The spec.consumer fields that are set, with the variable each becomes. */
function consumerEnv(spec: EcommerceServiceSpec): [ConsumerTuningField, string][] {
  const tuning = tuningOf(spec);
  return (Object.keys(CONSUMER_TUNING) as ConsumerTuningField[])
    .filter((field) => tuning[field] !== undefined)
    .map((field) => [field, CONSUMER_TUNING[field].env]);
}

// ---------------------------------------------------------------------------------------------
// Names and labels.

/** A label value (at most 63 characters): the name itself, or a stable shortening of it. */
export function labelValue(name: string): string {
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/[-.]+$/, '')}-${hash}`;
}

export function selectorOf(svc: EcommerceService): Record<string, string> {
  return { [SERVICE_LABEL]: labelValue(svc.metadata?.name ?? '') };
}

export function labelsOf(svc: EcommerceService): Record<string, string> {
  return {
    'app.kubernetes.io/name': labelValue(svc.metadata?.name ?? ''),
    [MANAGED_BY_LABEL]: MANAGED_BY,
    ...selectorOf(svc),
  };
}

export function serviceAccountNameOf(svc: EcommerceService): string {
  return svc.spec.serviceAccountName ?? svc.metadata?.name ?? '';
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Why a Kubernetes Service cannot carry this name, if it cannot (Services need a DNS-1035 label). */
export function serviceNameProblem(name: string): string | undefined {
  if (name.length <= 63 && DNS_1035_LABEL.test(name)) return undefined;
  return `a service with a port gets a Kubernetes Service of its own name, and ${JSON.stringify(name)} is not a valid Service name (at most 63 lower-case letters, digits and '-', starting with a letter); rename the EcommerceService or remove spec.port`;
}

function metadataOf(svc: EcommerceService, name = svc.metadata?.name ?? '') {
  return { name, namespace: svc.metadata?.namespace ?? '', labels: labelsOf(svc) };
}

// ---------------------------------------------------------------------------------------------
// Owned objects.

/**
 * The ServiceAccount: annotated with the role for IRSA; for EKS Pod Identity the association the
 * platform team creates names it, and no annotation is needed.
 */
export function desiredServiceAccount(svc: EcommerceService): Manifest {
  const roleArn = svc.spec.identity?.roleArn;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      ...metadataOf(svc, serviceAccountNameOf(svc)),
      ...(roleArn ? { annotations: { [IRSA_ROLE_ANNOTATION]: roleArn } } : {}),
    },
  };
}

/**
 * Seconds a pod gets after SIGTERM: the spec's, else long enough for a receive in progress (the
 * queue's long-poll wait) and the work on what it returned (the visibility timeout, after which
 * another consumer gets the message anyway).
 */
export function gracePeriodSeconds(spec: EcommerceServiceSpec, queue: ResolvedQueue | undefined): number {
  if (spec.terminationGracePeriodSeconds !== undefined) return spec.terminationGracePeriodSeconds;
  if (!queue) return DEFAULT_GRACE_SECONDS;
  return queue.visibilityTimeoutSeconds + queue.receiveWaitTimeSeconds;
}

/** The restricted Pod Security profile, plus a read-only root filesystem. */
export const POD_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};
export const CONTAINER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function probes(spec: EcommerceServiceSpec) {
  if (spec.port === undefined) return {};
  const httpGet = (path: string) => ({ path, port: 'http', scheme: 'HTTP' });
  return {
    ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
    readinessProbe: {
      httpGet: httpGet(spec.readinessPath ?? spec.healthPath),
      periodSeconds: 5,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: httpGet(spec.healthPath),
      initialDelaySeconds: 10,
      periodSeconds: 10,
      failureThreshold: 6,
    },
  };
}

/**
 * The Deployment. It never sets spec.replicas: the scaler (its own field manager) or the
 * HorizontalPodAutoscaler owns that field, so the two writers never fight.
 */
export function desiredDeployment(svc: EcommerceService, env: readonly EnvVar[], grace: number): Manifest {
  const { spec } = svc;
  const container = {
    name: CONTAINER_NAME,
    image: spec.image,
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.args ? { args: spec.args } : {}),
    env,
    ...(spec.resources ? { resources: spec.resources } : {}),
    ...probes(spec),
    securityContext: CONTAINER_SECURITY_CONTEXT,
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadataOf(svc),
    spec: {
      selector: { matchLabels: selectorOf(svc) },
      template: {
        metadata: { labels: labelsOf(svc) },
        spec: {
          serviceAccountName: serviceAccountNameOf(svc),
          terminationGracePeriodSeconds: grace,
          securityContext: POD_SECURITY_CONTEXT,
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

/** A ClusterIP Service on the HTTP port, or undefined for a service without one. */
export function desiredService(svc: EcommerceService): Manifest | undefined {
  if (svc.spec.port === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadataOf(svc),
    spec: {
      selector: selectorOf(svc),
      ports: [{ name: 'http', port: svc.spec.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** Pods a voluntary disruption may take at once when spec.disruption does not say. */
export const DEFAULT_MAX_UNAVAILABLE = 1;

/** A PodDisruptionBudget whenever more than one replica is possible. */
export function desiredPodDisruptionBudget(svc: EcommerceService): Manifest | undefined {
  if (svc.spec.scaling.maxReplicas <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadataOf(svc),
    spec: {
      selector: { matchLabels: selectorOf(svc) },
      maxUnavailable: svc.spec.disruption?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE,
      // A pod that is not ready protects nothing; let drains evict it.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}

const scaleTargetRef = (svc: EcommerceService) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name: svc.metadata?.name ?? '',
});

/** The CPU engine's HorizontalPodAutoscaler (autoscaling/v2). */
export function desiredHorizontalPodAutoscaler(svc: EcommerceService, defaultCpuPercent: number): Manifest {
  const { scaling } = svc.spec;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadataOf(svc),
    spec: {
      scaleTargetRef: scaleTargetRef(svc),
      minReplicas: scaling.minReplicas,
      maxReplicas: scaling.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: {
              type: 'Utilization',
              averageUtilization: scaling.cpu?.targetUtilizationPercent ?? defaultCpuPercent,
            },
          },
        },
      ],
    },
  };
}

/**
 * The TriggerAuthentication KEDA reads the queue with: KEDA's AWS pod identity provider with KEDA's
 * own identity (identityOwner: keda). KEDA never assumes the workload's role, so that role trusts
 * only the workload's ServiceAccount; KEDA's role needs only the read-only statement each service
 * reports in status.kedaPolicy.
 */
export function desiredTriggerAuthentication(svc: EcommerceService): Manifest {
  return {
    apiVersion: apiVersionOf(TRIGGER_AUTHENTICATIONS),
    kind: TRIGGER_AUTHENTICATIONS.kind,
    metadata: metadataOf(svc),
    spec: { podIdentity: { provider: 'aws', identityOwner: 'keda' } },
  };
}

/**
 * The KEDA ScaledObject: KEDA's aws-sqs-queue trigger on the same settings the Builtin scaler uses
 * (target per replica, activation, in-flight and delayed messages, poll interval, min and max, the
 * scale-down stabilization window as HPA behavior and as the cooldown before zero), plus an
 * aws-cloudwatch trigger on the age of the oldest message when scaling.age is set.
 */
export function desiredScaledObject(
  svc: EcommerceService,
  queue: ResolvedQueue,
  settings: Pick<ServiceSettings, 'region' | 'awsEndpoint'>,
): Manifest {
  const { scaling } = svc.spec;
  const depth = scaling.queueDepth;
  const aws = {
    awsRegion: settings.region,
    ...(settings.awsEndpoint ? { awsEndpoint: settings.awsEndpoint } : {}),
  };
  const authenticationRef = { name: svc.metadata?.name ?? '' };
  const triggers: Record<string, unknown>[] = [
    {
      type: 'aws-sqs-queue',
      name: 'queue-depth',
      authenticationRef,
      metadata: {
        queueURL: queue.url,
        queueLength: String(depth.targetPerReplica),
        activationQueueLength: String(depth.activation),
        scaleOnInFlight: String(depth.includeInFlight),
        scaleOnDelayed: String(depth.includeDelayed),
        ...aws,
      },
    },
  ];
  if (scaling.age) {
    triggers.push({
      type: 'aws-cloudwatch',
      name: 'oldest-message-age',
      authenticationRef,
      metricType: 'Value',
      metadata: {
        namespace: 'AWS/SQS',
        dimensionName: 'QueueName',
        dimensionValue: queue.queueName,
        metricName: 'ApproximateAgeOfOldestMessage',
        metricStat: 'Maximum',
        metricStatPeriod: '60',
        targetMetricValue: String(scaling.age.maxAgeSeconds),
        minMetricValue: '0',
        ...aws,
      },
    });
  }
  const behavior: Record<string, unknown> = {
    scaleDown: { stabilizationWindowSeconds: depth.scaleDownStabilizationSeconds },
  };
  if (depth.maxScaleUpStep !== undefined) {
    behavior['scaleUp'] = {
      policies: [{ type: 'Pods', value: depth.maxScaleUpStep, periodSeconds: depth.pollIntervalSeconds }],
    };
  }
  return {
    apiVersion: apiVersionOf(SCALED_OBJECTS),
    kind: SCALED_OBJECTS.kind,
    metadata: metadataOf(svc),
    spec: {
      scaleTargetRef: scaleTargetRef(svc),
      pollingInterval: depth.pollIntervalSeconds,
      cooldownPeriod: depth.scaleDownStabilizationSeconds,
      minReplicaCount: scaling.minReplicas,
      maxReplicaCount: scaling.maxReplicas,
      advanced: { horizontalPodAutoscalerConfig: { behavior } },
      triggers,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the Deployment back.

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface DeploymentState extends KubeObject {
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}

/** Ready: the Deployment has rolled out and has as many available pods as it should. */
export function readiness(deployment: DeploymentState): ConditionValue {
  const want = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return {
      status: 'False',
      reason: 'RollingOut',
      message: `Deployment ${deployment.metadata?.name} has not yet observed its latest change`,
    };
  }
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  if (updated < want || available < want || total > want) {
    return {
      status: 'False',
      reason: 'RollingOut',
      message: `${available}/${want} replicas available, ${updated} up to date, ${total} in total`,
    };
  }
  if (want === 0) {
    return {
      status: 'True',
      reason: 'ScaledToZero',
      message: 'Deployed at zero replicas; its queue wakes it',
    };
  }
  return {
    status: 'True',
    reason: 'Available',
    message: `Deployed and wired to its queue and topics: ${available}/${want} replicas available`,
  };
}

/**
 * Available mirrors the Deployment's own Available condition; a rollout past its progress deadline
 * (reported on the Deployment's Progressing condition) shows as Available=False with that reason.
 */
export function availability(deployment: DeploymentState): ConditionValue {
  if ((deployment.spec?.replicas ?? 1) === 0) {
    return { status: 'True', reason: 'ScaledToZero', message: 'The queue is empty: no replicas needed' };
  }
  const conditions = deployment.status?.conditions ?? [];
  const stuck = conditions.find((x) => x.type === 'Progressing' && x.reason === 'ProgressDeadlineExceeded');
  if (stuck) return { status: 'False', reason: 'ProgressDeadlineExceeded', message: stuck.message ?? '' };
  const c = conditions.find((x) => x.type === 'Available');
  if (!c) {
    return {
      status: 'Unknown',
      reason: 'DeploymentPending',
      message: 'The Deployment reports no availability yet',
    };
  }
  const status = c.status === 'True' || c.status === 'False' ? c.status : 'Unknown';
  return { status, reason: c.reason || 'Deployment', message: c.message ?? '' };
}
