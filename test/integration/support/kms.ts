// KMS keys in moto for tests, with the policies that decide whether SNS may use them. moto keeps
// a key's policy as created; the keys made here are scheduled for deletion by `scheduleDeletion`.
import {
  CreateAliasCommand,
  CreateKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { awsClientConfig, uniqueName } from './bed.ts';

/** A statement letting the (moto) account do anything with the key. */
export const ACCOUNT_STATEMENT = {
  Sid: 'account',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:root' },
  Action: 'kms:*',
  Resource: '*',
};

/** A statement letting SNS encrypt into and decrypt from queues with the key. */
export const SNS_STATEMENT = {
  Sid: 'sns',
  Effect: 'Allow',
  Principal: { Service: 'sns.amazonaws.com' },
  Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
  Resource: '*',
};

/** Creates keys with an alias each, and deletes them again. */
export class TestKeys {
  readonly client = new KMSClient(awsClientConfig());
  private readonly ids: string[] = [];

  /** A key with a policy of these statements; returns its alias. */
  async withPolicy(statements: object[]): Promise<string> {
    const { KeyMetadata } = await this.client.send(
      new CreateKeyCommand({
        Description: 'pubsub-operator integration test',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      }),
    );
    if (!KeyMetadata?.KeyId) throw new Error('CreateKey returned no key id');
    this.ids.push(KeyMetadata.KeyId);
    const alias = `alias/${uniqueName('queue-key')}`;
    await this.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata.KeyId }));
    return alias;
  }

  async scheduleDeletion(): Promise<void> {
    for (const KeyId of this.ids)
      await this.client.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    this.client.destroy();
  }
}
