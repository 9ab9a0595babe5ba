// Whether SNS can use a queue's KMS key, read through the operator's own KMS gateway from moto's
// KMS, which keeps the policy a key was created with: a key whose policy admits sns.amazonaws.com
// is usable, one whose policy admits only the account is not, an unknown key is Unknown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awsSettingsFromEnv,
  createAwsGateways,
  keyUsableBySns,
  type AwsGateways,
} from '../../src/aws/index.ts';
import { awsClientConfig, bedEnv, uniqueName } from './support/bed.ts';
import { ACCOUNT_STATEMENT, SNS_STATEMENT, TestKeys } from './support/kms.ts';

const bed = awsClientConfig();
const keys = new TestKeys();
let aws: AwsGateways;
const keyWithPolicy = (statements: object[]) => keys.withPolicy(statements);
const ACCOUNT = ACCOUNT_STATEMENT;
const SNS = SNS_STATEMENT;

beforeAll(() => {
  aws = createAwsGateways(awsSettingsFromEnv(bedEnv()), { credentials: bed.credentials });
});
afterAll(async () => {
  await keys.scheduleDeletion();
  aws.clients.destroy();
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
