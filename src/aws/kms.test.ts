import { describe, expect, it } from 'vitest';
import type { KMSClient } from '@aws-sdk/client-kms';
import { KMSInternalException, NotFoundException, KMSServiceException } from '@aws-sdk/client-kms';
import { AwsError } from './errors.ts';
import { AwsKeyGateway, actionMatches, keyUsableBySns, snsKeyAccess } from './kms.ts';
import { scriptedClient } from './scripted-client.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:eu-west-1:123456789012:key/${KEY_ID}`;

const policy = (...statements: Record<string, unknown>[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });
const account = {
  Sid: 'account',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:root' },
  Action: 'kms:*',
  Resource: '*',
};
const sns = (Action: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { Service: 'sns.amazonaws.com' },
  Action,
  Resource: '*',
  ...extra,
});

describe('actionMatches', () => {
  it.each([
    ['*', 'kms:Decrypt', true],
    ['kms:*', 'kms:Decrypt', true],
    ['kms:GenerateDataKey*', 'kms:GenerateDataKey', true],
    ['KMS:generatedatakey*', 'kms:GenerateDataKey', true],
    ['kms:GenerateDataKey?', 'kms:GenerateDataKey', false],
    ['kms:Decrypt', 'kms:DecryptSomething', false],
    ['kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateDataKey', false],
    ['sqs:*', 'kms:Decrypt', false],
  ])('%s covers %s: %s', (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });
});

describe('snsKeyAccess', () => {
  it.each([
    ['the actions AWS documents', policy(account, sns(['kms:GenerateDataKey*', 'kms:Decrypt']))],
    ['kms:*', policy(account, sns('kms:*'))],
    ['*, to everyone', policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' })],
    ['AWS: * as everyone', policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*' })],
    [
      'a list of services',
      policy(sns('kms:*', { Principal: { Service: ['events.amazonaws.com', 'sns.amazonaws.com'] } })),
    ],
    ['one statement per action', policy(sns('kms:GenerateDataKey'), sns('kms:Decrypt'))],
    [
      'a conditional allow',
      policy(sns('kms:*', { Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } })),
    ],
    ['NotAction leaving both', policy(sns(undefined, { NotAction: 'kms:ScheduleKeyDeletion' }))],
  ])('lets SNS use a key whose policy grants it %s', (_case, text) => {
    expect(snsKeyAccess(text)).toEqual({ missing: [], denied: [] });
  });

  it.each([
    ['only the account', policy(account), ['kms:GenerateDataKey', 'kms:Decrypt']],
    ['Decrypt only', policy(account, sns('kms:Decrypt')), ['kms:GenerateDataKey']],
    [
      'another service',
      policy(sns('kms:*', { Principal: { Service: 'events.amazonaws.com' } })),
      ['kms:GenerateDataKey', 'kms:Decrypt'],
    ],
    [
      'GenerateDataKeyWithoutPlaintext',
      policy(sns(['kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt'])),
      ['kms:GenerateDataKey'],
    ],
    ['NotAction taking Decrypt away', policy(sns(undefined, { NotAction: 'kms:Decrypt' })), ['kms:Decrypt']],
  ])('finds what is missing when the policy grants %s', (_case, text, missing) => {
    expect(snsKeyAccess(text)).toEqual({ missing, denied: [] });
  });

  it('lets an explicit Deny win over an Allow', () => {
    const text = policy(sns('kms:*'), { ...sns('kms:Decrypt'), Effect: 'Deny' });
    expect(snsKeyAccess(text)).toEqual({ missing: ['kms:Decrypt'], denied: ['kms:Decrypt'] });
  });

  it('does not count a conditional Deny, whose condition it cannot evaluate', () => {
    const deny = { ...sns('kms:*'), Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    expect(snsKeyAccess(policy(sns('kms:*'), deny))).toEqual({ missing: [], denied: [] });
  });

  it('refuses text that is not JSON', () => {
    expect(() => snsKeyAccess('not json')).toThrow();
  });
});

describe('keyUsableBySns through AwsKeyGateway', () => {
  const gateway = (answers: { policy?: string; describe?: () => unknown; getPolicy?: () => unknown }) => {
    const { client, sent } = scriptedClient<KMSClient>({
      DescribeKey:
        answers.describe ??
        (() => ({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } })),
      GetKeyPolicy: answers.getPolicy ?? (() => ({ Policy: answers.policy })),
    });
    return { keys: new AwsKeyGateway(client), sent };
  };

  it('is True when the policy lets SNS use the key, resolving an alias first', async () => {
    const { keys, sent } = gateway({ policy: policy(account, sns(['kms:GenerateDataKey*', 'kms:Decrypt'])) });
    const check = await keyUsableBySns(keys, 'alias/orders');
    expect(check).toMatchObject({ status: 'True', reason: 'KeyUsableBySns' });
    expect(sent).toEqual([
      { command: 'DescribeKey', input: { KeyId: 'alias/orders' } },
      { command: 'GetKeyPolicy', input: { KeyId: KEY_ID, PolicyName: 'default' } },
    ]);
  });

  it('is False naming the key and the missing actions when the policy leaves SNS out', async () => {
    const { keys } = gateway({ policy: policy(account) });
    const check = await keyUsableBySns(keys, 'alias/orders');
    expect(check.status).toBe('False');
    expect(check.reason).toBe('KeyPolicyDeniesSns');
    expect(check.message).toContain(KEY_ARN);
    expect(check.message).toContain('kms:GenerateDataKey, kms:Decrypt');
    expect(check.message).toContain('sns.amazonaws.com');
  });

  it('says an AWS-managed key cannot be fixed', async () => {
    const { keys } = gateway({
      describe: () => ({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'AWS' } }),
      policy: policy(account),
    });
    expect((await keyUsableBySns(keys, KEY_ARN)).message).toContain('AWS-managed key');
  });

  it('is Unknown when the operator may not read the policy', async () => {
    const denied = new KMSServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: 'not authorized to perform kms:GetKeyPolicy',
      ...meta(400),
    });
    const { keys } = gateway({
      getPolicy: () => {
        throw denied;
      },
    });
    const check = await keyUsableBySns(keys, 'alias/orders');
    expect(check).toMatchObject({ status: 'Unknown', reason: 'KeyPolicyUnreadable' });
    expect(check.message).toContain('kms:GetKeyPolicy');
  });

  it('is Unknown when the key does not exist', async () => {
    const { keys } = gateway({
      describe: () => {
        throw new NotFoundException({ message: 'Alias alias/gone is not found.', ...meta(400) });
      },
    });
    const check = await keyUsableBySns(keys, 'alias/gone');
    expect(check).toMatchObject({ status: 'Unknown', reason: 'KeyPolicyUnreadable' });
    expect(check.message).toContain('alias/gone does not exist');
  });

  it('throws what a retry may fix', async () => {
    const { keys } = gateway({
      describe: () => {
        throw new KMSInternalException({ message: 'boom', ...meta(500) });
      },
    });
    const failure = await keyUsableBySns(keys, 'alias/orders').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AwsError);
    expect((failure as AwsError).kind).toBe('retryable');
  });
});
