// Pure: an SNS topic's access policy (its Policy attribute). It starts with the statement AWS gives
// every new topic — the topic's own account may use it — so a topic without publishers grants
// exactly what AWS grants, and adds one statement per kind of declared publisher. Its Id names the
// owning object (policyId), which proves ownership to a resync without reading the tags. Principals
// and statements are sorted, so the document depends on the owner and the publishers alone.
import { policyId, type Owner } from '../../aws/ownership.ts';
import type { Publisher } from '../../crds/index.ts';

type Statement = Record<string, unknown>;

/** The actions of the statement AWS writes into a new topic's policy, in AWS's order. */
export const DEFAULT_TOPIC_ACTIONS = [
  'SNS:GetTopicAttributes',
  'SNS:SetTopicAttributes',
  'SNS:AddPermission',
  'SNS:RemovePermission',
  'SNS:DeleteTopic',
  'SNS:Subscribe',
  'SNS:ListSubscriptionsByTopic',
  'SNS:Publish',
] as const;

const arnPart = (arn: string, index: number): string => arn.split(':')[index] ?? '';

/** The statement AWS gives a new topic: principals of the topic's own account, and no others. */
export function defaultTopicStatement(topicArn: string): Statement {
  return {
    Sid: '__default_statement_ID',
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: [...DEFAULT_TOPIC_ACTIONS],
    Resource: topicArn,
    Condition: { StringEquals: { 'AWS:SourceOwner': arnPart(topicArn, 4) } },
  };
}

/** The statements letting `publishers` publish to `topicArn`; none for none. */
export function publisherStatements(topicArn: string, publishers: readonly Publisher[] = []): Statement[] {
  const publish = { Effect: 'Allow', Action: 'SNS:Publish', Resource: topicArn };
  const partition = arnPart(topicArn, 1) || 'aws';
  const statements: Statement[] = [];
  // Accounts and roles: AWS principals, in the ARN form AWS stores an account id in.
  const principals = [
    ...new Set(
      publishers.flatMap((p) =>
        p.accountId ? [`arn:${partition}:iam::${p.accountId}:root`] : p.roleArn ? [p.roleArn] : [],
      ),
    ),
  ].sort();
  if (principals.length > 0)
    statements.push({ Sid: 'AllowPublishers', ...publish, Principal: { AWS: principals } });
  // Services: each entry its own statement, since its conditions are its own.
  const services = new Map<string, Statement>();
  for (const p of publishers) {
    if (!p.service) continue;
    const condition: Record<string, unknown> = {};
    if (p.sourceArn) condition['ArnEquals'] = { 'aws:SourceArn': p.sourceArn };
    if (p.sourceAccount) condition['StringEquals'] = { 'aws:SourceAccount': p.sourceAccount };
    const statement: Statement = {
      ...publish,
      Principal: { Service: p.service },
      ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
    };
    services.set(JSON.stringify([p.service, p.sourceArn ?? '', p.sourceAccount ?? '']), statement);
  }
  [...services.keys()].sort().forEach((id, index) => {
    statements.push({ Sid: `AllowService${index}`, ...services.get(id) });
  });
  return statements;
}

/** The whole access policy of the topic at `topicArn`, owned by `owner`. */
export function topicAccessPolicy(
  topicArn: string,
  owner: Pick<Owner, 'uid'>,
  publishers: readonly Publisher[] = [],
): Statement {
  return {
    Version: '2008-10-17',
    Id: policyId(topicArn, owner),
    Statement: [defaultTopicStatement(topicArn), ...publisherStatements(topicArn, publishers)],
  };
}
