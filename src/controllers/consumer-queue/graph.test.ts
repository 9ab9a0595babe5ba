// Topics named by ARN and other senders: resolution, duplicates, pending confirmation, policies.
import { describe, expect, it } from 'vitest';
import { queuePolicy } from './desired.ts';
import { senderStatements } from './senders.ts';
import {
  deliveringTopics,
  isPendingConfirmation,
  planSubscriptionEntries,
  subscribedCondition,
  subscriptionStatus,
  topicsOfInterest,
} from './subscriptions.ts';
import { ARN, cq, lookupOf, topic } from './testing.ts';

const OWNER = { uid: 'uid-1' };

const FOREIGN = 'arn:aws:sns:us-east-1:210987654321:partner-orders';
const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:q';
const noRedrive = { deadLetterArn: undefined, queueFifo: false };

describe('a subscription naming its topic by ARN', () => {
  it('subscribes to a topic no EventTopic manages, without consent, and the policy admits exactly it', () => {
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [{ topicArn: FOREIGN }] }),
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'subscribe', key: undefined, topicArn: FOREIGN });
    expect(deliveringTopics(plan, [])).toEqual([FOREIGN]);
    expect(topicsOfInterest(cq({ subscriptions: [{ topicArn: FOREIGN }] }), lookupOf())).toEqual([FOREIGN]);
    const status = subscriptionStatus(plan, new Map(), []);
    expect(status[0]).not.toHaveProperty('topicRef');
  });

  it('refuses a standard topic on a FIFO queue by the name in the ARN', () => {
    const plan = planSubscriptionEntries({
      cq: cq({ fifo: true, subscriptions: [{ topicArn: FOREIGN }, { topicArn: `${FOREIGN}.fifo` }] }),
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'refuse', reason: 'FifoMismatch' });
    expect(plan.entries[1]).toMatchObject({ action: 'subscribe', topicArn: `${FOREIGN}.fifo` });
  });

  it('treats the ARN of an EventTopic of this cluster as that EventTopic: its consent applies', () => {
    const guarded = topic('payments', 'ledger');
    const open = topic('orders', 'events', { allowed: ['shop'] });
    const byArn = (arn: string) => [guarded, open].find((t) => t.status?.topicArn === arn);
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [{ topicArn: ARN('ledger') }, { topicArn: ARN('events') }] }),
      lookup: lookupOf(guarded, open),
      redrive: noRedrive,
      found: [],
      byArn,
    });
    expect(plan.entries[0]).toMatchObject({
      action: 'refuse',
      reason: 'TopicNotAllowed',
      key: { namespace: 'payments', name: 'ledger' },
    });
    expect(plan.entries[1]).toMatchObject({
      action: 'subscribe',
      key: { namespace: 'orders', name: 'events' },
    });
    expect(deliveringTopics(plan, [])).toEqual([ARN('events')]);
  });

  it('acts once on a topic named both by reference and by ARN', () => {
    const own = topic('shop', 'order-events');
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [{ topicRef: { name: 'order-events' } }, { topicArn: ARN('order-events') }] }),
      lookup: lookupOf(own),
      redrive: noRedrive,
      found: [],
      byArn: (arn) => (arn === ARN('order-events') ? own : undefined),
    });
    expect(plan.entries.map((e) => e.action)).toEqual(['subscribe', 'refuse']);
    expect(plan.entries[1]).toMatchObject({ reason: 'DuplicateTopic' });
  });
});

describe('a subscription pending confirmation', () => {
  it.each([
    ['PendingConfirmation', {}, true],
    ['pending confirmation', {}, true],
    [`${FOREIGN}:1b2c`, { PendingConfirmation: 'true' }, true],
    [`${FOREIGN}:1b2c`, { PendingConfirmation: 'false' }, false],
    [`${FOREIGN}:1b2c`, {}, false],
  ])('SNS showing %s %o is pending: %s', (arn, attributes, pending) => {
    expect(isPendingConfirmation(arn, attributes)).toBe(pending);
  });

  it('keeps a pending subscription (no second Subscribe, nothing to remove) and never lists one without an ARN as unwanted', () => {
    const pending = { arn: '', topicArn: FOREIGN, attributes: {}, pending: true };
    const plan = planSubscriptionEntries({
      cq: cq({ subscriptions: [{ topicArn: FOREIGN }] }),
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [pending],
    });
    expect(plan.entries[0]).toMatchObject({ action: 'subscribe', current: pending, delta: {} });
    const gone = planSubscriptionEntries({
      cq: cq({}),
      lookup: lookupOf(),
      redrive: noRedrive,
      found: [pending],
    });
    expect(gone.unwanted).toEqual([]);
    // Still admitted while SNS shows it: a confirmation may come.
    expect(deliveringTopics(gone, [pending])).toEqual([FOREIGN]);
  });

  it('makes Subscribed False with reason PendingConfirmation', () => {
    const condition = subscribedCondition(
      [{ state: 'PendingConfirmation', reason: 'PendingConfirmation', message: 'waits', topicArn: FOREIGN }],
      1,
    );
    expect(condition).toMatchObject({ status: 'False', reason: 'PendingConfirmation' });
    expect(condition.message).toContain(FOREIGN);
  });
});

describe('other senders in the queue policy', () => {
  it('gives each kind its service principal and aws:SourceArn, accounts as AWS principals, sorted and deduplicated', () => {
    const statements = senderStatements(QUEUE, [
      { accountId: '210987654321' },
      { s3BucketArn: 'arn:aws:s3:::b-bucket', sourceAccount: '210987654321' },
      { eventBridgeRuleArn: 'arn:aws:events:us-east-1:210987654321:rule/bus/r' },
      { snsTopicArn: FOREIGN },
      { s3BucketArn: 'arn:aws:s3:::a-bucket' },
      { accountId: '210987654321' },
    ]);
    expect(statements.map((s) => s['Sid'])).toEqual([
      'AllowSenderSnsTopics',
      'AllowSenderEventBridgeRules',
      'AllowSenderS3Bucket0',
      'AllowSenderS3Bucket1',
      'AllowSenderAccounts',
    ]);
    for (const s of statements)
      expect(s).toMatchObject({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE });
    expect(statements[2]).toMatchObject({
      Principal: { Service: 's3.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': ['arn:aws:s3:::a-bucket'] } },
    });
    expect(statements[2]?.['Condition']).not.toHaveProperty('StringEquals');
    expect(statements[3]).toMatchObject({
      Condition: { StringEquals: { 'aws:SourceAccount': ['210987654321'] } },
    });
    expect(statements[4]).toMatchObject({ Principal: { AWS: ['arn:aws:iam::210987654321:root'] } });
  });

  it('puts them between the subscribed topics and the TLS-only deny; the spec order does not change the document', () => {
    const a = queuePolicy(
      QUEUE,
      OWNER,
      [FOREIGN],
      [{ accountId: '111111111111' }, { accountId: '222222222222' }],
    );
    const b = queuePolicy(
      QUEUE,
      OWNER,
      [FOREIGN],
      [{ accountId: '222222222222' }, { accountId: '111111111111' }],
    );
    expect(a).toEqual(b);
    const sids = (a['Statement'] as { Sid: string }[]).map((s) => s.Sid);
    expect(sids).toEqual(['AllowSubscribedTopics', 'AllowSenderAccounts', 'DenyInsecureTransport']);
    expect(queuePolicy(QUEUE, OWNER, [])['Statement']).toHaveLength(1);
  });

  it('names principals in the partition of the queue', () => {
    const [statement] = senderStatements('arn:aws-cn:sqs:cn-north-1:123456789012:q', [
      { accountId: '210987654321' },
    ]);
    expect(statement).toMatchObject({ Principal: { AWS: ['arn:aws-cn:iam::210987654321:root'] } });
  });
});
