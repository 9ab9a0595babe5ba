// Pieces of the open graph: the AWS principals and ARNs a spec may name outside this cluster — a
// topic of another account to subscribe to, other senders to a queue, publishers to a topic.
// Only their form is checked here; whether they exist and consent is AWS's to say.
import { z } from 'zod';
import { formatted } from './common.ts';
import { doc } from './structural.ts';

// Partitions: aws, aws-cn, aws-us-gov, aws-iso, ...
const PARTITION = 'arn:aws(-[a-z]+)*';
const REGION = '[a-z]{2}(-[a-z]+)+-[0-9]';
const ACCOUNT = '[0-9]{12}';

/** An SNS topic's ARN; the topic name is 1-256 letters, digits, '-' and '_', '.fifo' for FIFO. */
export const SNS_TOPIC_ARN = new RegExp(
  `^${PARTITION}:sns:${REGION}:${ACCOUNT}:[A-Za-z0-9_-]{1,251}(\\.fifo)?$`,
);
export const S3_BUCKET_ARN = new RegExp(`^${PARTITION}:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`);
/** A rule of the default or of a custom event bus: rule/<name> or rule/<bus>/<name>. */
export const EVENTBRIDGE_RULE_ARN = new RegExp(
  `^${PARTITION}:events:${REGION}:${ACCOUNT}:rule/([A-Za-z0-9._-]{1,256}/)?[A-Za-z0-9._-]{1,64}$`,
);
export const IAM_ROLE_ARN = new RegExp(`^${PARTITION}:iam::${ACCOUNT}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`);
export const ACCOUNT_ID = new RegExp(`^${ACCOUNT}$`);
/** An AWS service principal, e.g. events.amazonaws.com. */
/** Any ARN, for a condition on the resource a service acts for. */
export const ANY_ARN = new RegExp(`^${PARTITION}:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12})?:\\S+$`);
export const SERVICE_PRINCIPAL = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$/;

export const snsTopicArn = () =>
  formatted(
    SNS_TOPIC_ARN,
    1024,
    "must be an SNS topic ARN: arn:aws:sns:<region>:<12-digit account>:<topic name>, the name ending in '.fifo' for a FIFO topic",
  );
export const s3BucketArn = () =>
  formatted(S3_BUCKET_ARN, 1024, 'must be an S3 bucket ARN: arn:aws:s3:::<bucket name>');
export const eventBridgeRuleArn = () =>
  formatted(
    EVENTBRIDGE_RULE_ARN,
    1024,
    'must be an EventBridge rule ARN: arn:aws:events:<region>:<12-digit account>:rule/[<event bus>/]<rule name>',
  );
export const accountId = () => formatted(ACCOUNT_ID, 12, 'must be a 12-digit AWS account id');
export const iamRoleArn = () =>
  formatted(
    IAM_ROLE_ARN,
    2048,
    'must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<path and name>',
  );
export const servicePrincipal = () =>
  formatted(
    SERVICE_PRINCIPAL,
    128,
    'must be an AWS service principal such as events.amazonaws.com or s3.amazonaws.com',
  );

/** CEL: exactly one of `fields` is set on self. */
export const exactlyOneOf = (fields: readonly string[]) =>
  `[${fields.map((f) => `has(self.${f})`).join(', ')}].filter(x, x).size() == 1`;

export const SENDER_FIELDS = ['snsTopicArn', 's3BucketArn', 'eventBridgeRuleArn', 'accountId'] as const;

export const AllowedSenderSchema = z
  .object({
    snsTopicArn: snsTopicArn()
      .optional()
      .describe(
        'An SNS topic that may deliver to this queue (sns.amazonaws.com, aws:SourceArn this topic), for a subscription its owner makes. A topic this queue subscribes to needs no entry.',
      ),
    s3BucketArn: s3BucketArn()
      .optional()
      .describe(
        'An S3 bucket whose event notifications may be sent to this queue (s3.amazonaws.com, aws:SourceArn this bucket).',
      ),
    eventBridgeRuleArn: eventBridgeRuleArn()
      .optional()
      .describe(
        'An EventBridge rule whose target is this queue (events.amazonaws.com, aws:SourceArn this rule).',
      ),
    accountId: accountId()
      .optional()
      .describe(
        'An AWS account whose principals may send to this queue (sqs:SendMessage), as its IAM policies allow.',
      ),
    sourceAccount: accountId()
      .optional()
      .describe(
        "With s3BucketArn: the bucket owner's account, added as aws:SourceAccount (an S3 bucket ARN names no account, and a deleted bucket's name can be taken by another account).",
      ),
  })
  .meta(
    doc(
      'One principal allowed to send messages to this queue: exactly one of snsTopicArn, s3BucketArn, eventBridgeRuleArn or accountId.',
      {
        rule: exactlyOneOf(SENDER_FIELDS),
        message:
          'allowedSenders: each entry needs exactly one of snsTopicArn, s3BucketArn, eventBridgeRuleArn or accountId',
      },
      {
        rule: '!has(self.sourceAccount) || has(self.s3BucketArn)',
        message: 'allowedSenders: sourceAccount applies only with s3BucketArn',
        fieldPath: '.sourceAccount',
        reason: 'FieldValueForbidden',
      },
    ),
  );
export type AllowedSender = z.output<typeof AllowedSenderSchema>;

export const PUBLISHER_FIELDS = ['accountId', 'roleArn', 'service'] as const;

export const PublisherSchema = z
  .object({
    accountId: accountId()
      .optional()
      .describe('An AWS account whose principals may publish, as its own IAM policies allow.'),
    roleArn: iamRoleArn().optional().describe('One IAM role that may publish.'),
    service: servicePrincipal()
      .optional()
      .describe(
        'An AWS service that may publish on behalf of a resource, e.g. events.amazonaws.com (an EventBridge rule), s3.amazonaws.com (bucket notifications), cloudwatch.amazonaws.com (alarms). Narrow it with sourceArn and/or sourceAccount.',
      ),
    sourceArn: formatted(ANY_ARN, 2048, 'must be an ARN: arn:aws:<service>:<region>:<account>:<resource>')
      .optional()
      .describe(
        'With service: only on behalf of this resource (aws:SourceArn), e.g. the EventBridge rule or the bucket.',
      ),
    sourceAccount: accountId()
      .optional()
      .describe('With service: only on behalf of resources of this account (aws:SourceAccount).'),
  })
  .meta(
    doc(
      'One principal allowed to publish to this topic: exactly one of accountId, roleArn or service.',
      {
        rule: exactlyOneOf(PUBLISHER_FIELDS),
        message: 'publishers: each entry needs exactly one of accountId, roleArn or service',
      },
      {
        rule: '(!has(self.sourceArn) && !has(self.sourceAccount)) || has(self.service)',
        message:
          'publishers: sourceArn and sourceAccount narrow a service principal and apply only with service',
        reason: 'FieldValueForbidden',
      },
    ),
  );
export type Publisher = z.output<typeof PublisherSchema>;
