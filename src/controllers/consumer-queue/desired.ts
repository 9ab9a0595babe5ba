// Pure: the queues, policies and subscriptions a ConsumerQueue asks for, given the EventTopics
// it references as the cache holds them.
import { canonicalJson, type Attributes } from '../../aws/attributes.ts';
import { FIFO_SUFFIX, physicalName, queueName, SQS_NAME_MAX_LENGTH } from '../../aws/names.ts';
import { ownershipTags } from '../../aws/ownership.ts';
import type { ConsumerQueue, EventTopic } from '../../crds/index.ts';
import { ownerOfObject, type DesiredResource } from '../shared/plan.ts';
import type { OperatorSettings } from '../shared/settings.ts';

export interface QueueNames {
  queue: string;
  deadLetter: string;
}

const lastPathSegment = (url: string | undefined): string | undefined =>
  url?.split('/').filter(Boolean).pop();

/**
 * The user's override, else the names recorded in status (a later change of the operator's prefix
 * never orphans a queue), else the derived deterministic names. The DLQ is FIFO when the queue is:
 * SQS requires a FIFO queue's dead-letter queue to be FIFO.
 */
export function queueNames(cq: ConsumerQueue, settings: OperatorSettings): QueueNames {
  const fifo = cq.spec.fifo;
  const namespace = cq.metadata?.namespace ?? '';
  const name = cq.metadata?.name ?? '';
  const queue =
    cq.spec.queueName ??
    cq.status?.queueName ??
    queueName({ prefix: settings.namePrefix, namespace, name, fifo });
  let deadLetter = lastPathSegment(cq.status?.deadLetterQueueUrl);
  if (!deadLetter) {
    if (cq.spec.queueName) {
      const base = cq.spec.queueName.endsWith(FIFO_SUFFIX)
        ? cq.spec.queueName.slice(0, -FIFO_SUFFIX.length)
        : cq.spec.queueName;
      const plain = `${base}-dlq${fifo ? FIFO_SUFFIX : ''}`;
      deadLetter =
        plain.length <= SQS_NAME_MAX_LENGTH
          ? plain
          : physicalName({
              prefix: '',
              namespace: 'dlq',
              name: base.replace(/_/g, '-'),
              fifo,
              maxLength: SQS_NAME_MAX_LENGTH,
            });
    } else {
      deadLetter = queueName({ prefix: settings.namePrefix, namespace, name, suffix: 'dlq', fifo });
    }
  }
  return { queue, deadLetter };
}

export interface TopicKey {
  namespace: string;
  name: string;
}

export type TopicLookup = (namespace: string, name: string) => EventTopic | undefined;

export type ResolvedSubscription =
  | { topic: TopicKey; state: 'ready'; topicArn: string; attributes: Attributes }
  | { topic: TopicKey; state: 'waiting' | 'refused'; reason: string; message: string };

function conditionTrue(topic: EventTopic, type: string): boolean {
  return topic.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/** Whether a topic lets queues of `namespace` subscribe: its own namespace always may. */
export function allowsConsumer(topic: EventTopic, namespace: string): boolean {
  if (topic.metadata?.namespace === namespace) return true;
  const allowed = topic.spec.allowedConsumerNamespaces ?? [];
  return allowed.includes('*') || allowed.includes(namespace);
}

/** The subscription attributes a spec entry asks for, as SNS stores them. */
export function subscriptionAttributes(
  entry: NonNullable<ConsumerQueue['spec']['subscriptions']>[number],
): Attributes {
  const attributes: Attributes = { RawMessageDelivery: String(entry.rawMessageDelivery) };
  if (entry.filterPolicy && Object.keys(entry.filterPolicy).length > 0) {
    attributes['FilterPolicy'] = canonicalJson(entry.filterPolicy);
    attributes['FilterPolicyScope'] = entry.filterPolicyScope;
  }
  return attributes;
}

export type ResolvedTopic =
  | { topic: TopicKey; state: 'ready'; topicArn: string }
  | { topic: TopicKey; state: 'waiting' | 'refused'; reason: string; message: string };

/**
 * One reference of a ConsumerQueue to an EventTopic, resolved against the cache: ready, waiting for
 * the topic (absent or not Ready yet: a condition, not an error), or refused (the topic does not
 * admit this namespace, or `refuse` finds it unfit for the use, e.g. of the wrong FIFO-ness).
 */
export function resolveTopicRef(
  ref: { name: string; namespace?: string | undefined },
  namespace: string,
  lookup: TopicLookup,
  refuse: (topic: EventTopic, ref: string) => { reason: string; message: string } | undefined = () =>
    undefined,
): ResolvedTopic {
  const key = { namespace: ref.namespace ?? namespace, name: ref.name };
  const text = `EventTopic ${key.namespace}/${key.name}`;
  const topic = lookup(key.namespace, key.name);
  if (!topic)
    return { topic: key, state: 'waiting', reason: 'TopicNotFound', message: `${text} does not exist` };
  if (!allowsConsumer(topic, namespace)) {
    return {
      topic: key,
      state: 'refused',
      reason: 'TopicNotAllowed',
      message: `${text} does not list namespace ${namespace} in spec.allowedConsumerNamespaces`,
    };
  }
  const refused = refuse(topic, text);
  if (refused) return { topic: key, state: 'refused', ...refused };
  const topicArn = topic.status?.topicArn;
  if (!topicArn || !conditionTrue(topic, 'Ready')) {
    return { topic: key, state: 'waiting', reason: 'TopicNotReady', message: `${text} is not Ready yet` };
  }
  return { topic: key, state: 'ready', topicArn };
}

/** Each subscription entry, resolved against the cached EventTopics (see resolveTopicRef). */
export function resolveSubscriptions(cq: ConsumerQueue, lookup: TopicLookup): ResolvedSubscription[] {
  const namespace = cq.metadata?.namespace ?? '';
  return (cq.spec.subscriptions ?? []).map((entry): ResolvedSubscription => {
    const resolved = resolveTopicRef(entry.topicRef, namespace, lookup, (topic, ref) =>
      // SNS FIFO topics deliver to FIFO and standard queues; standard topics only to standard queues.
      cq.spec.fifo && !topic.spec.fifo
        ? {
            reason: 'FifoMismatch',
            message: `${ref} is a standard topic, which SNS does not deliver to FIFO queues; subscribe a standard ConsumerQueue or use a FIFO topic`,
          }
        : undefined,
    );
    return resolved.state === 'ready' ? { ...resolved, attributes: subscriptionAttributes(entry) } : resolved;
  });
}

const denyInsecureTransport = (resource: string) => ({
  Sid: 'DenyInsecureTransport',
  Effect: 'Deny',
  Principal: '*',
  Action: 'sqs:*',
  Resource: resource,
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});

/**
 * The queue policy: SNS may SendMessage only from exactly the subscribed topics (aws:SourceArn),
 * and nobody may use the queue without TLS. Topic ARNs are sorted and duplicates dropped, so the
 * document depends on the set of topics alone and never causes an update loop.
 */
export function queuePolicy(queueArn: string, topicArns: readonly string[]): Record<string, unknown> {
  const sources = [...new Set(topicArns)].sort();
  const statements: Record<string, unknown>[] = [];
  if (sources.length > 0) {
    statements.push({
      Sid: 'AllowSubscribedTopics',
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': sources } },
    });
  }
  statements.push(denyInsecureTransport(queueArn));
  return { Version: '2012-10-17', Id: `${queueArn}/pubsub-operator`, Statement: statements };
}

export function encryptionAttributes(cq: ConsumerQueue): Attributes {
  const { encryption } = cq.spec;
  if (encryption.kmsKeyId) {
    return {
      SqsManagedSseEnabled: 'false',
      KmsMasterKeyId: encryption.kmsKeyId,
      ...(encryption.kmsDataKeyReusePeriodSeconds !== undefined
        ? { KmsDataKeyReusePeriodSeconds: String(encryption.kmsDataKeyReusePeriodSeconds) }
        : {}),
    };
  }
  // Without a key, SQS-managed encryption unless switched off: `encryption: {}` is the default.
  return { SqsManagedSseEnabled: String(encryption.sqsManaged ?? true), KmsMasterKeyId: '' };
}

function fifoAttributes(cq: ConsumerQueue): Attributes {
  const { spec } = cq;
  if (!spec.fifo) return {};
  return {
    ContentBasedDeduplication: String(spec.contentBasedDeduplication ?? false),
    ...(spec.deduplicationScope ? { DeduplicationScope: spec.deduplicationScope } : {}),
    ...(spec.fifoThroughputLimit ? { FifoThroughputLimit: spec.fifoThroughputLimit } : {}),
  };
}

export interface QueueArns {
  queue: string;
  deadLetter: string;
}

export interface DesiredQueues {
  /** Absent when spec.deadLetter.enabled is false. */
  deadLetter: DesiredResource | undefined;
  queue: DesiredResource;
}

/**
 * Both queues. ARNs are known before either exists (region, account and name), so the DLQ's
 * RedriveAllowPolicy can admit only this queue and the queue's policy can name itself at creation.
 */
export function desiredQueues(
  cq: ConsumerQueue,
  settings: OperatorSettings,
  names: QueueNames,
  arns: QueueArns,
  subscribedTopicArns: readonly string[],
): DesiredQueues {
  const { spec } = cq;
  const owner = ownerOfObject(cq, settings.clusterName);
  const tags = { ...(spec.tags ?? {}), ...ownershipTags(owner) };
  const fifo = { attribute: 'FifoQueue' as const, value: spec.fifo };
  const createOnly = spec.fifo ? { FifoQueue: 'true' } : {};
  const dlqEnabled = spec.deadLetter.enabled;

  const queue: DesiredResource = {
    kind: 'SQS queue',
    name: names.queue,
    attributes: {
      VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(spec.messageRetentionSeconds),
      DelaySeconds: String(spec.delaySeconds),
      ReceiveMessageWaitTimeSeconds: String(spec.receiveWaitTimeSeconds),
      MaximumMessageSize: String(spec.maximumMessageSize),
      ...encryptionAttributes(cq),
      ...fifoAttributes(cq),
      RedrivePolicy: dlqEnabled
        ? canonicalJson({
            deadLetterTargetArn: arns.deadLetter,
            maxReceiveCount: spec.deadLetter.maxReceiveCount,
          })
        : '',
      Policy: canonicalJson(queuePolicy(arns.queue, subscribedTopicArns)),
    },
    createOnly,
    fifo,
    tags,
    owner,
  };
  const deadLetter: DesiredResource | undefined = dlqEnabled
    ? {
        kind: 'SQS queue',
        name: names.deadLetter,
        attributes: {
          VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(spec.deadLetter.messageRetentionSeconds),
          ...encryptionAttributes(cq),
          ...fifoAttributes(cq),
          RedriveAllowPolicy: canonicalJson({ redrivePermission: 'byQueue', sourceQueueArns: [arns.queue] }),
          Policy: canonicalJson({
            Version: '2012-10-17',
            Id: `${arns.deadLetter}/pubsub-operator`,
            Statement: [denyInsecureTransport(arns.deadLetter)],
          }),
        },
        createOnly,
        fifo,
        tags,
        owner,
      }
    : undefined;
  return { deadLetter, queue };
}

export interface ExistingSubscription {
  arn: string;
  topicArn: string;
  attributes: Readonly<Record<string, string>>;
}

export interface SubscriptionPlan {
  create: { topicArn: string; attributes: Attributes }[];
  update: { arn: string; delta: Attributes }[];
  /** Subscription ARNs of this queue to topics no longer wanted. */
  remove: string[];
}

const EMPTY_FILTER = '{}';

/** Differences SNS cares about; an absent filter policy equals `{}`. */
function subscriptionDelta(wanted: Attributes, actual: Readonly<Record<string, string>>): Attributes {
  const delta: Attributes = {};
  const filter = (value: string | undefined) =>
    value === undefined || value === '' ? EMPTY_FILTER : canonicalJson(value);
  if (filter(wanted['FilterPolicy']) !== filter(actual['FilterPolicy']))
    delta['FilterPolicy'] = filter(wanted['FilterPolicy']);
  if (
    wanted['FilterPolicyScope'] &&
    wanted['FilterPolicyScope'] !== (actual['FilterPolicyScope'] ?? 'MessageAttributes')
  ) {
    delta['FilterPolicyScope'] = wanted['FilterPolicyScope'];
  }
  const raw = (value: string | undefined) => (value ?? 'false').toLowerCase();
  if (raw(wanted['RawMessageDelivery']) !== raw(actual['RawMessageDelivery'])) {
    delta['RawMessageDelivery'] = raw(wanted['RawMessageDelivery']);
  }
  return delta;
}

/**
 * Subscribe to wanted topics without a subscription, fix drifted attributes, and unsubscribe from
 * topics no longer wanted. `existing` are this queue's subscriptions found in AWS.
 */
export function planSubscriptions(
  wanted: readonly Extract<ResolvedSubscription, { state: 'ready' }>[],
  existing: readonly ExistingSubscription[],
): SubscriptionPlan {
  const plan: SubscriptionPlan = { create: [], update: [], remove: [] };
  const byTopic = new Map<string, ExistingSubscription[]>();
  for (const sub of existing) byTopic.set(sub.topicArn, [...(byTopic.get(sub.topicArn) ?? []), sub]);
  const wantedTopics = new Set(wanted.map((w) => w.topicArn));
  for (const w of wanted) {
    const [current, ...duplicates] = byTopic.get(w.topicArn) ?? [];
    if (!current) {
      plan.create.push({ topicArn: w.topicArn, attributes: w.attributes });
      continue;
    }
    const delta = subscriptionDelta(w.attributes, current.attributes);
    if (Object.keys(delta).length > 0) plan.update.push({ arn: current.arn, delta });
    // Two subscriptions of one queue to one topic would deliver every message twice.
    plan.remove.push(...duplicates.map((d) => d.arn));
  }
  for (const sub of existing) if (!wantedTopics.has(sub.topicArn)) plan.remove.push(sub.arn);
  return plan;
}
