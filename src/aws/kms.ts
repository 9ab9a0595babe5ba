// KMS reduced to what the queue controller needs to tell whether SNS can deliver into a queue
// encrypted with a KMS key: SNS encrypts each message for the queue with the queue's key, so the
// key's policy must let the service principal sns.amazonaws.com use it. Reading the policy needs
// kms:DescribeKey and kms:GetKeyPolicy; without them the answer is Unknown, never a guess.
import { DescribeKeyCommand, GetKeyPolicyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AwsError, isAccessDenied, unlessNotFound, type CallContext } from './errors.ts';

export interface KeyDescription {
  keyId: string;
  arn: string;
  /** AWS for an AWS-managed key (alias/aws/...), whose policy nobody can change; CUSTOMER otherwise. */
  manager: string | undefined;
}

export interface KeyGateway {
  /** DescribeKey, which takes a key id, alias, key ARN or alias ARN; undefined when there is no such key. */
  describeKey(keyId: string): Promise<KeyDescription | undefined>;
  /** GetKeyPolicy of the `default` policy (the only one a key has), by key id or key ARN. */
  readKeyPolicy(keyId: string): Promise<string | undefined>;
}

const kms = (operation: string, resource: string): CallContext => ({ service: 'kms', operation, resource });

export class AwsKeyGateway implements KeyGateway {
  private readonly client: Pick<KMSClient, 'send'>;

  constructor(client: Pick<KMSClient, 'send'>) {
    this.client = client;
  }

  async describeKey(keyId: string): Promise<KeyDescription | undefined> {
    const answer = await unlessNotFound(kms('DescribeKey', keyId), () =>
      this.client.send(new DescribeKeyCommand({ KeyId: keyId })),
    );
    const meta = answer?.KeyMetadata;
    if (!meta?.KeyId) return undefined;
    return { keyId: meta.KeyId, arn: meta.Arn ?? meta.KeyId, manager: meta.KeyManager };
  }

  async readKeyPolicy(keyId: string): Promise<string | undefined> {
    const answer = await unlessNotFound(kms('GetKeyPolicy', keyId), () =>
      this.client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' })),
    );
    return answer?.Policy;
  }
}

/** The service principal that must be able to use the key. */
export const SNS_PRINCIPAL = 'sns.amazonaws.com';
/** What SNS calls on the queue's key to deliver a message (kms:GenerateDataKey* in AWS's docs). */
export const SNS_KEY_ACTIONS: readonly string[] = ['kms:GenerateDataKey', 'kms:Decrypt'];

type OneOrMany<T> = T | T[] | undefined;
interface PolicyStatement {
  Effect?: string;
  Principal?: '*' | Record<string, OneOrMany<string>>;
  NotPrincipal?: '*' | Record<string, OneOrMany<string>>;
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  Condition?: Record<string, unknown>;
}

const list = <T>(value: OneOrMany<T>): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Whether an IAM action pattern (`*`, `kms:*`, `kms:GenerateDataKey*`, ...) covers `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`, 'i').test(action);
}

/** Whether a Principal block names the SNS service principal, directly or as everyone. */
function namesSns(principal: PolicyStatement['Principal']): boolean {
  if (principal === undefined) return false;
  if (principal === '*') return true;
  if (list(principal['AWS']).includes('*')) return true;
  return list(principal['Service']).some((s) => s.toLowerCase() === SNS_PRINCIPAL);
}

function appliesToSns(statement: PolicyStatement): boolean {
  if (statement.Principal !== undefined) return namesSns(statement.Principal);
  if (statement.NotPrincipal !== undefined) return !namesSns(statement.NotPrincipal);
  return false;
}

function coversAction(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined) return list(statement.Action).some((p) => actionMatches(p, action));
  if (statement.NotAction !== undefined)
    return !list(statement.NotAction).some((p) => actionMatches(p, action));
  return false;
}

export interface SnsKeyAccess {
  /** SNS_KEY_ACTIONS that no statement allows SNS, or that one denies it. */
  missing: string[];
  /** The subset of `missing` an explicit Deny takes away. */
  denied: string[];
}

/**
 * Which of the actions SNS needs a key policy does not grant sns.amazonaws.com. An explicit Deny
 * wins over any Allow. Conditions are not evaluated (the request's context is unknown here): a
 * conditional Allow counts as allowing, a conditional Deny as not denying, so the check reports only
 * what is sure to stop SNS. Throws on text that is not a JSON policy.
 */
export function snsKeyAccess(policyText: string): SnsKeyAccess {
  const policy = JSON.parse(policyText) as { Statement?: OneOrMany<PolicyStatement> };
  const statements = list(policy.Statement).filter(appliesToSns);
  const denied = SNS_KEY_ACTIONS.filter((action) =>
    statements.some((s) => s.Effect === 'Deny' && s.Condition === undefined && coversAction(s, action)),
  );
  const missing = SNS_KEY_ACTIONS.filter(
    (action) =>
      denied.includes(action) || !statements.some((s) => s.Effect === 'Allow' && coversAction(s, action)),
  );
  return { missing, denied };
}

export interface KeyCheck {
  status: 'True' | 'False' | 'Unknown';
  reason: 'KeyUsableBySns' | 'KeyPolicyDeniesSns' | 'KeyPolicyUnreadable';
  message: string;
}

const unreadable = (message: string): KeyCheck => ({
  status: 'Unknown',
  reason: 'KeyPolicyUnreadable',
  message,
});

/**
 * Whether SNS can use the KMS key `kmsKeyId` (as the spec names it) to deliver into a queue:
 * True when the key policy grants sns.amazonaws.com every action SNS needs; False, reason
 * KeyPolicyDeniesSns, when it does not; Unknown, reason KeyPolicyUnreadable, when the key does not
 * exist or the operator may not read its policy. Failures a retry may fix are thrown.
 */
export async function keyUsableBySns(keys: KeyGateway, kmsKeyId: string): Promise<KeyCheck> {
  let key: KeyDescription | undefined;
  let policy: string | undefined;
  try {
    key = await keys.describeKey(kmsKeyId);
    if (key) policy = await keys.readKeyPolicy(key.keyId);
  } catch (error) {
    if (isAccessDenied(error))
      return unreadable(
        `the operator may not read the policy of KMS key ${kmsKeyId} (grant it kms:DescribeKey and kms:GetKeyPolicy), so whether ${SNS_PRINCIPAL} may use the key is not known: ${AwsError.from(error).message}`,
      );
    throw error;
  }
  if (!key || policy === undefined)
    return unreadable(`KMS key ${kmsKeyId} does not exist, so SNS cannot encrypt messages for this queue`);

  let access: SnsKeyAccess;
  try {
    access = snsKeyAccess(policy);
  } catch {
    return unreadable(`the policy of KMS key ${key.arn} is not a JSON policy document`);
  }
  if (access.missing.length === 0)
    return {
      status: 'True',
      reason: 'KeyUsableBySns',
      message: `the policy of KMS key ${key.arn} lets ${SNS_PRINCIPAL} use it (${SNS_KEY_ACTIONS.join(', ')})`,
    };
  const how =
    access.denied.length > 0
      ? `denies ${SNS_PRINCIPAL} ${access.denied.join(', ')}`
      : `does not grant ${SNS_PRINCIPAL} ${access.missing.join(', ')}`;
  const fix =
    key.manager === 'AWS'
      ? 'it is an AWS-managed key, whose policy cannot change: use a customer-managed key'
      : `add a statement allowing the service principal ${SNS_PRINCIPAL} kms:GenerateDataKey* and kms:Decrypt`;
  return {
    status: 'False',
    reason: 'KeyPolicyDeniesSns',
    message: `the policy of KMS key ${key.arn} ${how}, so SNS cannot deliver any message into this queue; ${fix}`,
  };
}
