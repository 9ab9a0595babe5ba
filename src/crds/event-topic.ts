// EventTopic: an SNS topic, standard or FIFO.
import { z } from 'zod';
import {
  ConditionsSchema,
  ConnectionConfigMapSchema,
  DeletionPolicySchema,
  ManagementPolicySchema,
  ObservedGenerationSchema,
  TagsSchema,
  defaultedObject,
  formatted,
  kmsKeyId,
  resourceSchema,
} from './common.ts';
import { defineKind } from './crd.ts';
import { PublisherSchema } from './graph.ts';
import { doc } from './structural.ts';

// SNS topic names: 1-256 letters, digits, '-' and '_'; FIFO topic names end in '.fifo' (counted).
const TOPIC_NAME = /^[A-Za-z0-9_-]+(\.fifo)?$/;

/** A list of namespaces that may use the topic in one way; '*' allows every namespace. */
const namespaceAllowList = (description: string, field: string) =>
  z
    .array(
      formatted(
        /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/,
        63,
        "each entry must be a namespace name (at most 63 lower-case letters, digits and '-') or '*'",
      ),
    )
    .max(64)
    .meta(
      doc(description, {
        rule: "!self.exists(n, n == '*') || size(self) == 1",
        message: `${field}: '*' already allows every namespace and must be the only entry`,
      }),
    )
    .meta({ 'x-kubernetes-list-type': 'set' })
    .optional();

export const EventTopicSpecSchema = z
  .object({
    topicName: formatted(
      TOPIC_NAME,
      256,
      "topicName must be 1 to 256 letters, digits, '-' and '_', followed by '.fifo' for a FIFO topic",
    )
      .optional()
      .describe(
        "Physical name of the SNS topic. Default: derived by the operator from its prefix, the namespace and the object's name. It can be set only when the object is created and then neither changed nor removed. A FIFO topic's name ends in '.fifo'.",
      ),
    fifo: z
      .boolean()
      .default(false)
      .meta(
        doc(
          'Make the topic a FIFO topic: strict ordering within a message group and deduplication. Cannot be changed after creation.',
          {
            rule: 'self == oldSelf',
            message: 'fifo is immutable: SNS cannot turn a standard topic into a FIFO topic or back',
          },
        ),
      ),
    contentBasedDeduplication: z
      .boolean()
      .optional()
      .describe(
        'FIFO topics only: deduplicate on a SHA-256 hash of the message body when the publisher gives no deduplication id.',
      ),
    fifoThroughputScope: z
      .enum(['Topic', 'MessageGroup'])
      .optional()
      .describe(
        'FIFO topics only: the scope of the throughput limit, the whole topic (Topic) or each message group (MessageGroup, for higher throughput).',
      ),
    displayName: z
      .string()
      .max(100)
      .optional()
      .describe(
        'Display name of the topic, used as the sender name of SMS and e-mail deliveries (at most 100 characters).',
      ),
    encryption: z
      .object({
        kmsKeyId: kmsKeyId().describe(
          'KMS key that encrypts messages at rest: a key id, alias/<name>, or a key or alias ARN.',
        ),
      })
      .optional()
      .describe('Server-side encryption of the topic. Default: not encrypted.'),
    allowedConsumerNamespaces: namespaceAllowList(
      "Namespaces whose ConsumerQueues may subscribe to this topic (at most 64). '*' allows every namespace. Default: only this topic's own namespace.",
      'allowedConsumerNamespaces',
    ),
    allowedPublisherNamespaces: namespaceAllowList(
      "Namespaces whose EcommerceServices may publish to this topic, and whose ConsumerQueues may name it as their alarms' action (at most 64). '*' allows every namespace. Default: only this topic's own namespace. Without it a service of another namespace gets neither the topic's ARN nor sns:Publish in its IAM policy.",
      'allowedPublisherNamespaces',
    ),
    publishers: z
      .array(PublisherSchema)
      .max(20)
      .optional()
      .describe(
        "Principals outside this cluster's services allowed to publish to this topic (at most 20): AWS accounts, IAM roles, AWS services (narrowed by sourceArn or sourceAccount). They are rendered, after the statement AWS gives every new topic (the topic's own account may use it), into the topic's access policy. The access policy is the operator's: a statement added to it by any other means is removed at the next reconcile. Default: only the account's own principals, as for a new topic.",
      ),
    tags: TagsSchema.optional(),
    deletionPolicy: DeletionPolicySchema,
    managementPolicy: ManagementPolicySchema,
    connectionConfigMap: ConnectionConfigMapSchema.optional(),
  })
  .meta(
    doc(
      'Desired state of the SNS topic.',
      {
        rule: "!has(self.topicName) || self.topicName.endsWith('.fifo') == self.fifo",
        message: "topicName must end in '.fifo' when fifo is true, and must not when fifo is false",
        fieldPath: '.topicName',
      },
      {
        rule: 'self.fifo || !has(self.contentBasedDeduplication) || !self.contentBasedDeduplication',
        message: 'contentBasedDeduplication applies only to FIFO topics (fifo: true)',
        fieldPath: '.contentBasedDeduplication',
        reason: 'FieldValueForbidden',
      },
      {
        rule: 'self.fifo || !has(self.fifoThroughputScope)',
        message: 'fifoThroughputScope applies only to FIFO topics (fifo: true)',
        fieldPath: '.fifoThroughputScope',
        reason: 'FieldValueForbidden',
      },
      {
        rule: 'has(self.topicName) == has(oldSelf.topicName) && (!has(self.topicName) || self.topicName == oldSelf.topicName)',
        message:
          'topicName is immutable: it can be set only when the EventTopic is created, and then neither changed nor removed',
        fieldPath: '.topicName',
      },
    ),
  );

export const EventTopicStatusSchema = z
  .object({
    topicArn: z.string().optional().describe('ARN of the SNS topic.'),
    topicName: z.string().optional().describe('Physical name of the SNS topic.'),
    managedTagKeys: z
      .array(z.string())
      .optional()
      .describe(
        'The keys of spec.tags the operator has applied to the SNS topic. When the spec drops one, the operator removes it from the topic; tags set on the topic in AWS by anyone else are never removed.',
      ),
    observedGeneration: ObservedGenerationSchema,
    conditions: ConditionsSchema,
  })
  .describe('Observed state of the SNS topic, written by the operator.');

export const EventTopicSchema = resourceSchema(
  'EventTopic',
  defaultedObject(EventTopicSpecSchema),
  EventTopicStatusSchema,
);

/** EventTopic spec as stored, with every default applied. */
export type EventTopicSpec = z.output<typeof EventTopicSpecSchema>;
/** EventTopic spec as a user writes it: fields with defaults may be left out. */
export type EventTopicSpecInput = z.input<typeof EventTopicSpecSchema>;
export type EventTopicStatus = z.output<typeof EventTopicStatusSchema>;
export type EventTopic = z.output<typeof EventTopicSchema>;

export const eventTopicKind = defineKind(EventTopicSchema, {
  shortName: 'etopic',
  description:
    'EventTopic is an SNS topic, standard or FIFO, managed by the operator. ConsumerQueues subscribe to it; EcommerceServices publish to it.',
  readyMeans: 'Whether the SNS topic exists and matches the spec.',
  columns: [
    {
      name: 'FIFO',
      type: 'boolean',
      jsonPath: '.spec.fifo',
      description: 'Whether the topic is FIFO.',
      priority: 1,
    },
    {
      name: 'Policy',
      type: 'string',
      jsonPath: '.spec.managementPolicy',
      description: 'Manage, or ObserveOnly: read and report, never change.',
      priority: 1,
    },
    { name: 'ARN', type: 'string', jsonPath: '.status.topicArn', description: 'ARN of the SNS topic.' },
  ],
});
