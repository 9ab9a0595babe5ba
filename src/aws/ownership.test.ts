import { describe, expect, it } from 'vitest';
import {
  adoptable,
  claimedBy,
  describeOwner,
  MANAGED_BY_TAG,
  ownerOf,
  ownershipOf,
  ownershipTags,
  policyId,
  resourceTags,
  tagChanges,
  UID_TAG,
  type Owner,
  type Tags,
} from './ownership.ts';

const me: Owner = { cluster: 'prod', namespace: 'shop', name: 'orders', uid: '0b7c-1' };
const mine = ownershipTags(me);

describe('ownershipTags', () => {
  it('carries managed-by, cluster, namespace, name and uid', () => {
    expect(mine).toEqual({
      'pubsub.ecommerce.io/managed-by': 'pubsub-operator',
      'pubsub.ecommerce.io/cluster': 'prod',
      'pubsub.ecommerce.io/namespace': 'shop',
      'pubsub.ecommerce.io/name': 'orders',
      'pubsub.ecommerce.io/uid': '0b7c-1',
    });
  });
});

describe('ownershipOf', () => {
  it.each<[string, Tags, ReturnType<typeof ownershipOf>]>([
    ['our own tags', mine, 'ours'],
    ['our tags plus tags others added', { ...mine, 'cost-center': '42' }, 'ours'],
    ['no tags at all', {}, 'unmanaged'],
    ['another tool', { [MANAGED_BY_TAG]: 'terraform' }, 'unmanaged'],
    ['our other tags without managed-by', { ...mine, [MANAGED_BY_TAG]: '' }, 'unmanaged'],
    ['another cluster', ownershipTags({ ...me, cluster: 'staging' }), 'foreign'],
    ['another namespace', ownershipTags({ ...me, namespace: 'billing' }), 'foreign'],
    ['another name', ownershipTags({ ...me, name: 'payments' }), 'foreign'],
    ['an earlier object of the same name', ownershipTags({ ...me, uid: 'old-uid' }), 'foreign'],
    ['managed by us with the uid missing', { ...mine, [UID_TAG]: undefined } as unknown as Tags, 'foreign'],
  ])('%s → %s', (_what, tags, expected) => {
    expect(ownershipOf(tags, me)).toBe(expected);
  });
});

describe('ownerOf and describeOwner', () => {
  it('reads the owner back from the tags', () => {
    expect(ownerOf(mine)).toEqual(me);
    expect(ownerOf({})).toBeUndefined();
  });

  it('names the owner in a sentence for the condition', () => {
    expect(describeOwner('SQS queue', 'q', ownershipTags({ ...me, namespace: 'billing' }))).toBe(
      'SQS queue q belongs to billing/orders (uid 0b7c-1) in cluster prod',
    );
    expect(describeOwner('SNS topic', 't', {})).toBe(
      'SNS topic t already exists and is not managed by pubsub-operator',
    );
  });
});

describe('tagChanges', () => {
  it.each<[string, Tags, Tags, string[], Tags, string[]]>([
    ['nothing to do', { a: '1' }, { a: '1', other: 'x' }, [], {}, []],
    ['a new tag and a changed one', { a: '2', b: '1' }, { a: '1' }, [], { a: '2', b: '1' }, []],
    ['a tag the spec dropped', { a: '1' }, { a: '1', team: 'x' }, ['team'], {}, ['team']],
    ['a dropped tag already gone', { a: '1' }, { a: '1' }, ['team'], {}, []],
    ['tags others added stay', { a: '1' }, { a: '1', 'aws:cost': 'x' }, [], {}, []],
    [
      'ownership tags stay, whatever the record of managed keys says',
      { a: '1' },
      { a: '1', [UID_TAG]: 'u', team: 'x' },
      [UID_TAG, 'team'],
      {},
      ['team'],
    ],
  ])('%s', (_what, desired, actual, previous, set, remove) => {
    expect(tagChanges(desired, actual, previous)).toEqual({ set, remove });
  });
});

describe('adoptable', () => {
  it('is true only for a resource without any ownership tag', () => {
    expect(adoptable({})).toBe(true);
    expect(adoptable({ team: 'orders', 'managed-by': 'terraform' })).toBe(true);
    expect(adoptable(mine)).toBe(false);
    expect(adoptable({ [UID_TAG]: 'someone' })).toBe(false);
    expect(adoptable({ [MANAGED_BY_TAG]: 'another-tool' })).toBe(false);
  });
});

describe('resourceTags', () => {
  it('puts the ownership tags over any user tag of the same key', () => {
    expect(resourceTags({ team: 'orders', [UID_TAG]: 'forged' }, me)).toEqual({ team: 'orders', ...mine });
    expect(resourceTags(undefined, me)).toEqual(mine);
  });
});

describe('claimedBy', () => {
  const arn = 'arn:aws:sqs:us-east-1:123456789012:pubsub_shop_orders';
  it("is true only for a policy whose Id is this owner's for this resource", () => {
    const policy = (id: unknown) => JSON.stringify({ Version: '2012-10-17', Id: id, Statement: [] });
    expect(claimedBy(policy(policyId(arn, me)), arn, me)).toBe(true);
    expect(claimedBy(policy(policyId(arn, { uid: 'someone' })), arn, me)).toBe(false);
    expect(claimedBy(policy(policyId(`${arn}-dlq`, me)), arn, me)).toBe(false);
    expect(claimedBy(policy('__default_policy_ID'), arn, me)).toBe(false);
    expect(claimedBy(undefined, arn, me)).toBe(false);
    expect(claimedBy('', arn, me)).toBe(false);
    expect(claimedBy('{not json', arn, me)).toBe(false);
  });
});
