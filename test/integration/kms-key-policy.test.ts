// Whether SNS can use a queue's KMS key, read through the operator's own KMS gateway from moto's
// KMS, which keeps the policy a key was created with: a key whose policy admits sns.amazonaws.com
// is usable, one whose policy admits only the account is not, an unknown key is Unknown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { createAwsGateways, keyUsableBySns, type AwsGateways } from '../../src/aws/index.ts';
import { awsClientConfig, uniqueName } from './support/bed.ts';

const bed = awsClientConfig();
const kms = new KMSClient(bed);
let aws: AwsGateways;
const keys: string[] = [];

const ACCOUNT = {
  Sid: 'account',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:root' },
  Action: 'kms:*',
  Resource: '*',
};
const SNS = {
  Sid: 'sns',
  Effect: 'Allow',
  Principal: { Service: 'sns.amazonaws.com' },
  Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
  Resource: '*',
};

/** Creates a key with this policy and an alias for it; returns the alias. */
async function keyWithPolicy(statements: object[]): Promise<string> {
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({
      Description: 'pubsub-operator integration test',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
  if (!KeyMetadata?.KeyId) throw new Error('CreateKey returned no key id');
  keys.push(KeyMetadata.KeyId);
  const alias = `alias/${uniqueName('queue-key')}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata.KeyId }));
  return alias;
}

beforeAll(() => {
  aws = createAwsGateways(
    {
      region: bed.region,
      endpoint: bed.endpoint,
      retryMode: 'standard',
      maxAttempts: 3,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 30_000,
    },
    { credentials: bed.credentials },
  );
});
afterAll(async () => {
  for (const keyId of keys)
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
  aws.clients.destroy();
  kms.destroy();
});

describe('keyUsableBySns against moto', () => {
  it('is True for a key whose policy lets sns.amazonaws.com use it, by alias', async () => {
    const alias = await keyWithPolicy([ACCOUNT, SNS]);
    const check = await keyUsableBySns(aws.keys, alias);
    expect(check).toMatchObject({ status: 'True', reason: 'KeyUsableBySns' });
  });

  it('is False, naming the key and the missing actions, for a key only the account may use', async () => {
    const alias = await keyWithPolicy([ACCOUNT]);
    const check = await keyUsableBySns(aws.keys, alias);
    expect(check).toMatchObject({ status: 'False', reason: 'KeyPolicyDeniesSns' });
    expect(check.message).toMatch(/arn:aws:kms:[a-z0-9-]+:123456789012:key\//);
    expect(check.message).toContain('kms:GenerateDataKey, kms:Decrypt');
  });

  it('is False when the policy denies SNS what another statement allows', async () => {
    const alias = await keyWithPolicy([
      ACCOUNT,
      SNS,
      { ...SNS, Sid: 'no-sns', Effect: 'Deny', Action: 'kms:Decrypt' },
    ]);
    const check = await keyUsableBySns(aws.keys, alias);
    expect(check).toMatchObject({ status: 'False', reason: 'KeyPolicyDeniesSns' });
    expect(check.message).toContain('denies sns.amazonaws.com kms:Decrypt');
  });

  it('is Unknown for a key that does not exist', async () => {
    const check = await keyUsableBySns(aws.keys, `alias/${uniqueName('no-such-key')}`);
    expect(check).toMatchObject({ status: 'Unknown', reason: 'KeyPolicyUnreadable' });
  });
});
