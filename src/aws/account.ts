// The account the operator works in, learnt once from STS, and the ARNs that follow from it, so
// a topic or queue ARN never costs a lookup.
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { AwsError } from './errors.ts';

export interface AccountIdentity {
  /** The account id of the operator's credentials; one GetCallerIdentity per process. */
  accountId(): Promise<string>;
}

/**
 * Asks STS once and remembers the answer; concurrent callers share the one call, and a failed
 * call is not remembered, so the next caller tries again.
 */
export function stsAccountIdentity(sts: Pick<STSClient, 'send'>): AccountIdentity {
  let pending: Promise<string> | undefined;
  return {
    accountId() {
      pending ??= sts.send(new GetCallerIdentityCommand({})).then(
        ({ Account }) => {
          if (!Account) throw new Error('GetCallerIdentity returned no account');
          return Account;
        },
        (error: unknown) => {
          pending = undefined;
          throw AwsError.from(error, { service: 'sts', operation: 'GetCallerIdentity' });
        },
      );
      return pending;
    },
  };
}

/** A fixed account, for tests and for operators told their account id up front. */
export const fixedAccountIdentity = (accountId: string): AccountIdentity => ({
  accountId: () => Promise.resolve(accountId),
});

/** The ARN partition a region belongs to. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

export function topicArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:sns:${region}:${accountId}:${name}`;
}

export function queueArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:sqs:${region}:${accountId}:${name}`;
}

/** The last part of a topic or queue ARN: its name. */
export function nameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
