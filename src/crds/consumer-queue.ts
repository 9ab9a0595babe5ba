// ConsumerQueue: an SQS queue with its dead-letter queue, subscribed to EventTopics.
import { z } from 'zod';
import {
  ConditionsSchema,
  ConnectionConfigMapSchema,
  DeletionPolicySchema,
  ManagementPolicySchema,
  ObservedGenerationSchema,
  TagsSchema,
  TopicRefSchema,
  celRefNamespace,
  defaultedObject,
  formatted,
  kmsKeyId,
  resourceSchema,
} from './common.ts';
import { defineKind } from './crd.ts';
import { AllowedSenderSchema, snsTopicArn } from './graph.ts';
import { RedriveStatusSchema } from './redrive.ts';
import { doc } from './structural.ts';

/** Alias of the AWS-managed key for SQS, whose key policy SNS can never use. */
export const AWS_MANAGED_SQS_KEY = 'alias/aws/sqs';

// SQS queue names: 1-80 letters, digits, '-' and '_'; FIFO queue names end in '.fifo' (counted).
const QUEUE_NAME = /^[A-Za-z0-9_-]+(\.fifo)?$/;

// SQS limits, in seconds unless the name says otherwise.
const MAX_RETENTION = 1_209_600;
const seconds = (min: number, max: number, fallback: number, description: string) =>
  z
    .int()
    .min(min)
    .max(max)
    .default(fallback)
    .describe(`${description} Range ${min}-${max}; default ${fallback}.`);

export const DeadLetterSchema = defaultedObject(
  z
    .object({
      enabled: z
        .boolean()
        .default(true)
        .describe('Create a dead-letter queue and a redrive policy that moves messages to it. Default true.'),
      maxReceiveCount: z
        .int()
        .min(1)
        .max(1000)
        .default(3)
        .describe('Receives after which a message moves to the dead-letter queue. Range 1-1000; default 3.'),
      messageRetentionSeconds: seconds(
        60,
        MAX_RETENTION,
        MAX_RETENTION,
        "How long the dead-letter queue keeps a message, in seconds; at least the queue's own messageRetentionSeconds.",
      ),
      snsRedrive: z
        .boolean()
        .default(true)
        .describe(
          "Also give every SNS subscription of this queue a redrive policy to the dead-letter queue, so a message SNS cannot deliver (for example when the queue's policy or key refuses it) is kept there instead of dropped, and let SNS send to the dead-letter queue from exactly the subscribed topics. SNS takes a dead-letter queue of the topic's type only, so a standard queue's subscription to a FIFO topic has no redrive (its status entry says so). Without a dead-letter queue (enabled false) no subscription has one. Default true.",
        ),
    })
    .describe(
      'Dead-letter queue for messages that fail processing. Present by default: a queue always gets one unless enabled is false.',
    ),
);
export type DeadLetter = z.output<typeof DeadLetterSchema>;

export const QueueEncryptionSchema = z
  .object({
    sqsManaged: z
      .boolean()
      .optional()
      .describe(
        'Encrypt messages at rest with SQS-owned keys (SSE-SQS). Default true unless kmsKeyId is set: false is the one way to store messages unencrypted. true cannot be combined with kmsKeyId.',
      ),
    kmsKeyId: kmsKeyId()
      .optional()
      .describe(
        'Encrypt messages at rest with this KMS key (SSE-KMS): a key id, alias/<name>, or a key or alias ARN. Cannot be combined with sqsManaged.',
      ),
    kmsDataKeyReusePeriodSeconds: z
      .int()
      .min(60)
      .max(86400)
      .optional()
      .describe(
        'With kmsKeyId: how long SQS reuses a data key before calling KMS again, in seconds. Range 60-86400; AWS default 300.',
      ),
  })
  .default({ sqsManaged: true })
  .meta(
    doc(
      'Server-side encryption of the queue and its dead-letter queue. Default, whether encryption is left out or given as {}: SQS-managed encryption (sqsManaged: true). A queue with subscriptions cannot use the AWS-managed key alias/aws/sqs, whose key policy SNS can never use; a customer-managed key must let sns.amazonaws.com use it (kms:GenerateDataKey*, kms:Decrypt).',
      {
        rule: '!(has(self.sqsManaged) && self.sqsManaged && has(self.kmsKeyId))',
        message: 'encryption: choose either sqsManaged or kmsKeyId, not both',
      },
      {
        rule: '!has(self.kmsDataKeyReusePeriodSeconds) || has(self.kmsKeyId)',
        message: 'encryption.kmsDataKeyReusePeriodSeconds applies only with encryption.kmsKeyId',
        fieldPath: '.kmsDataKeyReusePeriodSeconds',
        reason: 'FieldValueForbidden',
      },
    ),
  );
export type QueueEncryption = z.output<typeof QueueEncryptionSchema>;

export const SubscriptionSchema = z
  .object({
    topicRef: TopicRefSchema.optional().describe(
      'The EventTopic to subscribe to, in this namespace unless namespace is set. A FIFO queue can subscribe only to FIFO topics. Exactly one of topicRef and topicArn.',
    ),
    topicArn: snsTopicArn()
      .optional()
      .describe(
        "An SNS topic that no EventTopic of this cluster manages, named by ARN: another account's, or one made outside the operator. Its owner's topic policy must let this account subscribe; until the subscription is confirmed its entry shows PendingConfirmation. A FIFO queue can subscribe only to a FIFO topic (ARN ending in .fifo). An ARN of a topic an EventTopic manages needs that EventTopic's consent, as a topicRef does. Exactly one of topicRef and topicArn.",
      ),
    filterPolicy: z
      .record(z.string(), z.unknown())
      .meta({ maxProperties: 5 })
      .optional()
      .describe(
        'SNS filter policy as a JSON object, for example {"eventType": ["OrderCreated"]}; at most 5 top-level keys. Default: every message is delivered.',
      ),
    filterPolicyScope: z
      .enum(['MessageAttributes', 'MessageBody'])
      .default('MessageAttributes')
      .describe(
        'What filterPolicy matches against: the message attributes or the message body. Default MessageAttributes.',
      ),
    rawMessageDelivery: z
      .boolean()
      .default(true)
      .describe('Deliver the message body as published, without the SNS JSON envelope. Default true.'),
  })
  .meta(
    doc(
      'A subscription of this queue to an EventTopic (topicRef) or to an SNS topic named by ARN (topicArn).',
      {
        rule: 'has(self.topicRef) != has(self.topicArn)',
        message: 'subscriptions: each entry names its topic with exactly one of topicRef and topicArn',
      },
    ),
  );
export type Subscription = z.output<typeof SubscriptionSchema>;

// CloudWatch evaluates SQS metrics once a minute; an alarm whose period is under an hour may look
// back at most one day (PutMetricAlarm: Period x EvaluationPeriods <= 86400 s).
const MAX_ALARM_MINUTES = 1440;
const alarmMinutes = (fallback: number, what: string) =>
  z
    .int()
    .min(1)
    .max(MAX_ALARM_MINUTES)
    .default(fallback)
    .describe(
      `How many consecutive minutes ${what} before the alarm fires (one-minute periods). Range 1-${MAX_ALARM_MINUTES}; default ${fallback}.`,
    );

export const AlarmsSchema = z
  .object({
    topicRef: TopicRefSchema.optional().describe(
      'EventTopic every alarm of this queue publishes to when it goes into ALARM (the alarm action), in this namespace unless namespace is set. CloudWatch publishes to it, so the topic must be a standard (not FIFO) topic and list this namespace in spec.allowedPublisherNamespaces when it lives in another. Default: no action, the state shows in status only.',
    ),
    notifyOnOk: z
      .boolean()
      .default(false)
      .describe('With topicRef: also publish when an alarm returns to OK. Default false.'),
    deadLetterNotEmpty: z
      .object({
        minutes: alarmMinutes(1, 'the dead-letter queue must hold messages'),
      })
      .optional()
      .describe(
        'Alarm when the dead-letter queue holds messages (AWS/SQS ApproximateNumberOfMessagesVisible of the dead-letter queue above 0). Needs deadLetter.enabled.',
      ),
    backlog: z
      .object({
        threshold: z
          .int()
          .min(0)
          .max(1_000_000_000)
          .describe('Messages waiting in the queue above which the alarm fires.'),
        minutes: alarmMinutes(5, 'the backlog must stay above threshold'),
      })
      .optional()
      .describe(
        'Alarm when more than threshold messages wait in the queue (AWS/SQS ApproximateNumberOfMessagesVisible) for the given minutes.',
      ),
    oldestMessageAge: z
      .object({
        thresholdSeconds: z
          .int()
          .min(1)
          .max(MAX_RETENTION)
          .describe(`Age in seconds above which the alarm fires. Range 1-${MAX_RETENTION}.`),
        minutes: alarmMinutes(1, 'the oldest message must stay older than thresholdSeconds'),
      })
      .optional()
      .describe(
        'Alarm when the oldest message in the queue is older than thresholdSeconds (AWS/SQS ApproximateAgeOfOldestMessage) for the given minutes.',
      ),
  })
  .meta(
    doc(
      'CloudWatch alarms on the metrics SQS publishes for this queue, one alarm per entry, named <prefix>_<namespace>_<name>_<kind>. Their state shows in status.alarms. Removing an entry deletes its alarm; deleting the ConsumerQueue deletes them all unless deletionPolicy is Retain.',
      {
        rule: '!self.notifyOnOk || has(self.topicRef)',
        message: 'alarms.notifyOnOk needs alarms.topicRef: there is nothing to notify without a topic',
        fieldPath: '.notifyOnOk',
      },
    ),
  );
export type Alarms = z.output<typeof AlarmsSchema>;

export const ConsumerQueueSpecSchema = z
  .object({
    queueName: formatted(
      QUEUE_NAME,
      80,
      "queueName must be 1 to 80 letters, digits, '-' and '_', followed by '.fifo' for a FIFO queue",
    )
      .optional()
      .describe(
        "Physical name of the SQS queue. Default: derived by the operator from its prefix, the namespace and the object's name. It can be set only when the object is created and then neither changed nor removed. A FIFO queue's name ends in '.fifo'.",
      ),
    fifo: z
      .boolean()
      .default(false)
      .meta(
        doc(
          'Make the queue a FIFO queue: exactly-once processing and ordering within a message group. Cannot be changed after creation.',
          {
            rule: 'self == oldSelf',
            message: 'fifo is immutable: SQS cannot turn a standard queue into a FIFO queue or back',
          },
        ),
      ),
    contentBasedDeduplication: z
      .boolean()
      .optional()
      .describe(
        'FIFO queues only: deduplicate on a SHA-256 hash of the message body when the sender gives no deduplication id.',
      ),
    deduplicationScope: z
      .enum(['messageGroup', 'queue'])
      .optional()
      .describe(
        'FIFO queues only: whether deduplication applies per message group or to the whole queue. AWS default: queue.',
      ),
    fifoThroughputLimit: z
      .enum(['perQueue', 'perMessageGroupId'])
      .optional()
      .describe(
        'FIFO queues only: apply the throughput limit to the whole queue or to each message group. perMessageGroupId (high throughput) needs deduplicationScope messageGroup. AWS default: perQueue.',
      ),
    visibilityTimeoutSeconds: seconds(
      0,
      43_200,
      30,
      'How long a received message stays hidden from other consumers, in seconds.',
    ),
    messageRetentionSeconds: seconds(
      60,
      MAX_RETENTION,
      345_600,
      'How long the queue keeps a message, in seconds.',
    ),
    delaySeconds: seconds(
      0,
      900,
      0,
      'How long every new message stays invisible after it arrives, in seconds.',
    ),
    receiveWaitTimeSeconds: seconds(
      0,
      20,
      20,
      'Long-polling wait of a receive call when the queue is empty, in seconds.',
    ),
    maximumMessageSize: z
      .int()
      .min(1024)
      .max(1_048_576)
      .default(262_144)
      .describe('Largest message the queue accepts, in bytes. Range 1024-1048576; default 262144.'),
    deadLetter: DeadLetterSchema,
    encryption: QueueEncryptionSchema,
    subscriptions: z
      .array(SubscriptionSchema)
      .max(20)
      .meta(
        doc(
          'EventTopics this queue receives messages from (at most 20, each topic at most once; an omitted namespace and this namespace are the same topic). The operator creates one SNS subscription per entry and a queue policy that lets exactly these topics deliver; each entry reports on its own in status.subscriptions and the Subscribed condition.',
          {
            rule: `self.all(a, !has(a.topicRef) || self.exists_one(b, has(b.topicRef) && b.topicRef.name == a.topicRef.name && ${celRefNamespace('b.topicRef')} == ${celRefNamespace('a.topicRef')}))`,
            message: 'subscriptions: each EventTopic may appear only once',
          },
          {
            rule: 'self.all(a, !has(a.topicArn) || self.exists_one(b, has(b.topicArn) && b.topicArn == a.topicArn))',
            message: 'subscriptions: each topicArn may appear only once',
          },
        ),
      )
      .optional(),
    alarms: AlarmsSchema.optional(),
    allowedSenders: z
      .array(AllowedSenderSchema)
      .max(20)
      .optional()
      .describe(
        "Other principals that may send messages to this queue (at most 20): SNS topics whose owners subscribe it, S3 buckets, EventBridge rules, AWS accounts. Each becomes a statement of the queue policy the operator writes, with aws:SourceArn (and aws:SourceAccount where given) for a service. The queue policy is the operator's: a statement added to it by any other means is removed at the next reconcile, so declare every sender here.",
      ),
    tags: TagsSchema.optional(),
    deletionPolicy: DeletionPolicySchema,
    managementPolicy: ManagementPolicySchema,
    connectionConfigMap: ConnectionConfigMapSchema.optional(),
  })
  .meta(
    doc(
      'Desired state of the SQS queue, its dead-letter queue, its subscriptions and its alarms.',
      {
        rule: "self.managementPolicy != 'ObserveOnly' || !has(self.subscriptions) || size(self.subscriptions) == 0",
        message:
          'subscriptions: a ConsumerQueue with managementPolicy ObserveOnly makes no subscription (that would change AWS); subscribe with a managed ConsumerQueue, or leave subscriptions out',
        fieldPath: '.subscriptions',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "self.managementPolicy != 'ObserveOnly' || !has(self.alarms)",
        message:
          'alarms: a ConsumerQueue with managementPolicy ObserveOnly creates no CloudWatch alarm (that would change AWS); leave alarms out',
        fieldPath: '.alarms',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!has(self.queueName) || self.queueName.endsWith('.fifo') == self.fifo",
        message: "queueName must end in '.fifo' when fifo is true, and must not when fifo is false",
        fieldPath: '.queueName',
      },
      {
        rule: 'self.fifo || !has(self.contentBasedDeduplication) || !self.contentBasedDeduplication',
        message: 'contentBasedDeduplication applies only to FIFO queues (fifo: true)',
        fieldPath: '.contentBasedDeduplication',
        reason: 'FieldValueForbidden',
      },
      {
        rule: 'self.fifo || !has(self.deduplicationScope)',
        message: 'deduplicationScope applies only to FIFO queues (fifo: true)',
        fieldPath: '.deduplicationScope',
        reason: 'FieldValueForbidden',
      },
      {
        rule: 'self.fifo || !has(self.fifoThroughputLimit)',
        message: 'fifoThroughputLimit applies only to FIFO queues (fifo: true)',
        fieldPath: '.fifoThroughputLimit',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!has(self.fifoThroughputLimit) || self.fifoThroughputLimit != 'perMessageGroupId' || (has(self.deduplicationScope) && self.deduplicationScope == 'messageGroup')",
        message: 'fifoThroughputLimit perMessageGroupId needs deduplicationScope messageGroup',
        fieldPath: '.fifoThroughputLimit',
      },
      {
        rule: '!self.deadLetter.enabled || self.deadLetter.messageRetentionSeconds >= self.messageRetentionSeconds',
        message:
          "deadLetter.messageRetentionSeconds must be at least the queue's messageRetentionSeconds: a message keeps its original enqueue time when it moves to the dead-letter queue, so a shorter retention would drop it early",
        fieldPath: '.deadLetter.messageRetentionSeconds',
      },
      {
        // The AWS-managed key's policy is AWS's and admits only principals of this account through
        // SQS, never sns.amazonaws.com: SNS could deliver no message into the queue.
        rule: `!has(self.subscriptions) || size(self.subscriptions) == 0 || !has(self.encryption.kmsKeyId) || !(self.encryption.kmsKeyId == '${AWS_MANAGED_SQS_KEY}' || self.encryption.kmsKeyId.endsWith(':${AWS_MANAGED_SQS_KEY}'))`,
        message: `encryption.kmsKeyId: the AWS-managed key ${AWS_MANAGED_SQS_KEY} cannot encrypt a queue with subscriptions: its key policy can never admit sns.amazonaws.com, so SNS could deliver no message. Use a customer-managed key whose key policy lets sns.amazonaws.com use it (kms:GenerateDataKey*, kms:Decrypt), or sqsManaged`,
        fieldPath: '.encryption.kmsKeyId',
      },
      {
        rule: '!has(self.alarms) || !has(self.alarms.deadLetterNotEmpty) || self.deadLetter.enabled',
        message: 'alarms.deadLetterNotEmpty needs a dead-letter queue (deadLetter.enabled: true)',
        fieldPath: '.alarms.deadLetterNotEmpty',
      },
      {
        rule: 'has(self.queueName) == has(oldSelf.queueName) && (!has(self.queueName) || self.queueName == oldSelf.queueName)',
        message:
          'queueName is immutable: it can be set only when the ConsumerQueue is created, and then neither changed nor removed',
        fieldPath: '.queueName',
      },
    ),
  );

const count = (description: string) => z.int().min(0).optional().describe(description);

export const BacklogSchema = z
  .object({
    visible: count('Messages available for retrieval (ApproximateNumberOfMessages).'),
    inFlight: count('Messages received but not yet deleted (ApproximateNumberOfMessagesNotVisible).'),
    delayed: count('Messages not yet available because of a delay (ApproximateNumberOfMessagesDelayed).'),
    deadLetter: count('Messages in the dead-letter queue.'),
  })
  .describe('Approximate message counts at the last poll.');
export type Backlog = z.output<typeof BacklogSchema>;

export const AlarmStatusSchema = z
  .object({
    name: z.string().describe('Name of the CloudWatch alarm.'),
    type: z
      .enum(['DeadLetterNotEmpty', 'Backlog', 'OldestMessageAge'])
      .describe('Which alarm of spec.alarms this is: DeadLetterNotEmpty, Backlog or OldestMessageAge.'),
    state: z
      .enum(['OK', 'ALARM', 'INSUFFICIENT_DATA'])
      .describe('State of the alarm as CloudWatch last reported it: OK, ALARM or INSUFFICIENT_DATA.'),
    reason: z.string().optional().describe("Why the alarm is in this state, in CloudWatch's words."),
    updatedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the alarm last changed state (RFC 3339).'),
  })
  .describe('One CloudWatch alarm of the queue and its state.');
export type AlarmStatus = z.output<typeof AlarmStatusSchema>;

/** The states one subscription entry can report in status. */
export const SUBSCRIPTION_STATES = [
  'Active',
  'Waiting',
  'Refused',
  'Failed',
  'TopicGone',
  'Removing',
  'PendingConfirmation',
] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

export const ConsumerQueueStatusSchema = z
  .object({
    queueName: z.string().optional().describe('Physical name of the SQS queue.'),
    queueUrl: z.string().optional().describe('URL of the SQS queue.'),
    queueArn: z.string().optional().describe('ARN of the SQS queue.'),
    deadLetterQueueUrl: z.string().optional().describe('URL of the dead-letter queue.'),
    deadLetterQueueArn: z.string().optional().describe('ARN of the dead-letter queue.'),
    subscriptions: z
      .array(
        z
          .object({
            topicRef: z
              .object({
                name: z.string().describe('Name of the EventTopic.'),
                namespace: z.string().describe('Namespace of the EventTopic.'),
              })
              .optional()
              .describe(
                'The EventTopic, with its namespace resolved; absent for an entry naming its topic by ARN.',
              ),
            state: z
              .enum(SUBSCRIPTION_STATES)
              .optional()
              .describe(
                'Active: subscribed as the entry asks. Waiting: the topic does not exist or has no ARN yet. Refused: the entry is not acted on (no consent, wrong FIFO-ness, or it repeats an earlier entry). Failed: AWS refused or failed the subscription; reason and message say why. TopicGone: the EventTopic is gone but the SNS topic still delivers through the subscription kept here. Removing: a subscription of this queue no entry wants any more, to be removed. PendingConfirmation: SNS holds the subscription until the owner of the topic confirms it (a topic of another account).',
              ),
            reason: z.string().optional().describe('CamelCase reason of the state.'),
            message: z.string().optional().describe('What the state means for this entry.'),
            topicArn: z.string().optional().describe('ARN of the SNS topic.'),
            subscriptionArn: z.string().optional().describe('ARN of the SNS subscription.'),
          })
          .describe('One entry of spec.subscriptions (or a leftover subscription) and its state in AWS.'),
      )
      .optional()
      .describe(
        'One entry per entry of spec.subscriptions, in order, followed by any subscription of this queue that no entry wants any more and that is still being removed.',
      ),
    managedTagKeys: z
      .array(z.string())
      .optional()
      .describe(
        'Keys of spec.tags the operator has applied to the queue, its dead-letter queue and its alarms: only these are removed from AWS when spec.tags drops them.',
      ),
    backlog: BacklogSchema.optional(),
    alarms: z
      .array(AlarmStatusSchema)
      .optional()
      .describe(
        'The CloudWatch alarms of spec.alarms that exist and belong to this queue, with their state as read at the last reconcile.',
      ),
    alarmState: z
      .enum(['OK', 'ALARM', 'INSUFFICIENT_DATA'])
      .optional()
      .describe(
        'The worst state among the alarms (ALARM, then INSUFFICIENT_DATA, then OK); absent without alarms.',
      ),
    redrive: RedriveStatusSchema.optional(),
    observedGeneration: ObservedGenerationSchema,
    conditions: ConditionsSchema,
  })
  .describe('Observed state of the SQS queue, written by the operator.');

export const ConsumerQueueSchema = resourceSchema(
  'ConsumerQueue',
  defaultedObject(ConsumerQueueSpecSchema),
  ConsumerQueueStatusSchema,
);

/** ConsumerQueue spec as stored, with every default applied. */
export type ConsumerQueueSpec = z.output<typeof ConsumerQueueSpecSchema>;
/** ConsumerQueue spec as a user writes it: fields with defaults may be left out. */
export type ConsumerQueueSpecInput = z.input<typeof ConsumerQueueSpecSchema>;
export type ConsumerQueueStatus = z.output<typeof ConsumerQueueStatusSchema>;
export type ConsumerQueue = z.output<typeof ConsumerQueueSchema>;

export const consumerQueueKind = defineKind(ConsumerQueueSchema, {
  shortName: 'cq',
  description:
    'ConsumerQueue is an SQS queue with its dead-letter queue, subscribed to EventTopics, managed by the operator. An EcommerceService consumes it.',
  readyMeans:
    'Whether the queue and its dead-letter queue exist and match the spec, every subscription entry is Active (condition Subscribed) and the alarms are in place (condition AlarmsReady, when spec.alarms is set). The queue is usable as soon as status.queueUrl is set, whatever Ready says.',
  columns: [
    {
      name: 'FIFO',
      type: 'boolean',
      jsonPath: '.spec.fifo',
      description: 'Whether the queue is FIFO.',
      priority: 1,
    },
    {
      name: 'Visible',
      type: 'integer',
      jsonPath: '.status.backlog.visible',
      description: 'Messages waiting in the queue.',
      priority: 1,
    },
    {
      name: 'DLQ',
      type: 'integer',
      jsonPath: '.status.backlog.deadLetter',
      description: 'Messages in the dead-letter queue.',
      priority: 1,
    },
    {
      name: 'Alarms',
      type: 'string',
      jsonPath: '.status.alarmState',
      description: 'The worst state among the CloudWatch alarms of the queue.',
      priority: 1,
    },
    {
      name: 'Redrive',
      type: 'string',
      jsonPath: '.status.redrive.state',
      description: 'State of the last dead-letter redrive request.',
      priority: 1,
    },
    {
      name: 'Policy',
      type: 'string',
      jsonPath: '.spec.managementPolicy',
      description: 'Manage, or ObserveOnly: read and report, never change.',
      priority: 1,
    },
    { name: 'URL', type: 'string', jsonPath: '.status.queueUrl', description: 'URL of the SQS queue.' },
  ],
});
