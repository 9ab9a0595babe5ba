// Pure: the queues and policies a ConsumerQueue asks for, given the topics that deliver into it.
import { canonicalJson, type Attributes } from '../../aws/attributes.ts';
import { FIFO_SUFFIX, physicalName, queueName, SQS_NAME_MAX_LENGTH } from '../../aws/names.ts';
import { policyId, resourceTags, type Owner } from '../../aws/ownership.ts';
import type { AllowedSender, ConsumerQueue } from '../../crds/index.ts';
import { ownerOfObject, type DesiredResource } from '../shared/plan.ts';
import type { OperatorSettings } from '../shared/settings.ts';
import { senderStatements } from './senders.ts';

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
export function queuePolicy(
  queueArn: string,
  owner: Pick<Owner, 'uid'>,
  topicArns: readonly string[],
  senders: readonly AllowedSender[] = [],
): Record<string, unknown> {
  return snsSendPolicy(
    queueArn,
    owner,
    topicArns,
    'AllowSubscribedTopics',
    senderStatements(queueArn, senders),
  );
}

/**
 * The DLQ policy: SNS may SendMessage there only from the topics whose subscriptions have it as
 * their redrive target (aws:SourceArn), and nobody may use it without TLS.
 */
export function deadLetterPolicy(
  deadLetterArn: string,
  owner: Pick<Owner, 'uid'>,
  topicArns: readonly string[],
): Record<string, unknown> {
  return snsSendPolicy(deadLetterArn, owner, topicArns, 'AllowSnsRedrive');
}

function snsSendPolicy(
  queueArn: string,
  owner: Pick<Owner, 'uid'>,
  topicArns: readonly string[],
  sid: string,
  others: readonly Record<string, unknown>[] = [],
): Record<string, unknown> {
  const sources = [...new Set(topicArns)].sort();
  const statements: Record<string, unknown>[] = [];
  if (sources.length > 0) {
    statements.push({
      Sid: sid,
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': sources } },
    });
  }
  statements.push(...others, denyInsecureTransport(queueArn));
  return { Version: '2012-10-17', Id: policyId(queueArn, owner), Statement: statements };
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

/** The topics each queue's policy lets SNS send from. */
export interface PolicySources {
  /** Topics that deliver into the queue. */
  queue: readonly string[];
  /** Topics whose subscriptions redrive undeliverable messages into the DLQ. */
  deadLetter: readonly string[];
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
  sources: PolicySources,
): DesiredQueues {
  const { spec } = cq;
  const owner = ownerOfObject(cq, settings.clusterName);
  const tags = resourceTags(spec.tags, owner);
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
      Policy: canonicalJson(queuePolicy(arns.queue, owner, sources.queue, spec.allowedSenders)),
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
          Policy: canonicalJson(deadLetterPolicy(arns.deadLetter, owner, sources.deadLetter)),
        },
        createOnly,
        fifo,
        tags,
        owner,
      }
    : undefined;
  return { deadLetter, queue };
}
