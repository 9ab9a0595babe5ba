// Pure: the statements of a queue policy for spec.allowedSenders. Each kind of sender gets the
// least privilege AWS documents for it: a service principal may send only on behalf of exactly the
// named resource (aws:SourceArn, and aws:SourceAccount where given); an account is named as an AWS
// principal and may only send. Entries are grouped and sorted, so the document depends on the set
// of senders alone and their order in the spec never causes an update.
import type { AllowedSender } from '../../crds/index.ts';

type Statement = Record<string, unknown>;

const sorted = (values: readonly string[]): string[] => [...new Set(values)].sort();

/** `arn:<partition>` of an ARN, so a statement names principals in the queue's own partition. */
export const partitionOf = (arn: string): string => arn.split(':')[1] ?? 'aws';

/** The statements admitting `senders` to send to `queueArn`; none for none. */
export function senderStatements(queueArn: string, senders: readonly AllowedSender[] = []): Statement[] {
  const statements: Statement[] = [];
  const send = { Action: 'sqs:SendMessage', Resource: queueArn, Effect: 'Allow' };
  const topics = sorted(senders.flatMap((s) => (s.snsTopicArn ? [s.snsTopicArn] : [])));
  if (topics.length > 0) {
    statements.push({
      Sid: 'AllowSenderSnsTopics',
      ...send,
      Principal: { Service: 'sns.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': topics } },
    });
  }
  const rules = sorted(senders.flatMap((s) => (s.eventBridgeRuleArn ? [s.eventBridgeRuleArn] : [])));
  if (rules.length > 0) {
    statements.push({
      Sid: 'AllowSenderEventBridgeRules',
      ...send,
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': rules } },
    });
  }
  // One statement per bucket: its source account, when given, belongs to that bucket only.
  const buckets = new Map<string, string | undefined>();
  for (const s of senders)
    if (s.s3BucketArn) buckets.set(s.s3BucketArn, s.sourceAccount ?? buckets.get(s.s3BucketArn));
  [...buckets.keys()].sort().forEach((bucket, index) => {
    const account = buckets.get(bucket);
    statements.push({
      Sid: `AllowSenderS3Bucket${index}`,
      ...send,
      Principal: { Service: 's3.amazonaws.com' },
      Condition: {
        ArnEquals: { 'aws:SourceArn': [bucket] },
        ...(account ? { StringEquals: { 'aws:SourceAccount': [account] } } : {}),
      },
    });
  });
  const partition = partitionOf(queueArn);
  const accounts = sorted(senders.flatMap((s) => (s.accountId ? [s.accountId] : [])));
  if (accounts.length > 0) {
    statements.push({
      Sid: 'AllowSenderAccounts',
      ...send,
      // The ARN form: AWS stores an account id given alone as this, so nothing differs on reading.
      Principal: { AWS: accounts.map((a) => `arn:${partition}:iam::${a}:root`) },
    });
  }
  return statements;
}
