import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../aws/attributes.ts';
import { claimedBy, policyId } from '../../aws/ownership.ts';
import { desiredTopic } from './desired.ts';
import { topicAccessPolicy } from './access-policy.ts';
import type { EventTopic } from '../../crds/index.ts';
import { EventTopicSpecSchema } from '../../crds/event-topic.ts';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:pubsub_shop_orders';
const ROLE = 'arn:aws:iam::210987654321:role/importer';
const OWNER = { uid: '6f1c2d3e-0000-4000-8000-000000000001' };

// What AWS (and moto) write into a new topic's Policy, formatted as SNS returns it.
const AWS_DEFAULT = JSON.stringify({
  Version: '2008-10-17',
  Id: '__default_policy_ID',
  Statement: [
    {
      Effect: 'Allow',
      Sid: '__default_statement_ID',
      Principal: { AWS: '*' },
      Action: [
        'SNS:GetTopicAttributes',
        'SNS:SetTopicAttributes',
        'SNS:AddPermission',
        'SNS:RemovePermission',
        'SNS:DeleteTopic',
        'SNS:Subscribe',
        'SNS:ListSubscriptionsByTopic',
        'SNS:Publish',
      ],
      Resource: TOPIC,
      Condition: { StringEquals: { 'AWS:SourceOwner': '123456789012' } },
    },
  ],
});

// The same grants under the owning object's Id.
const OWNED_DEFAULT = JSON.stringify({ ...JSON.parse(AWS_DEFAULT), Id: policyId(TOPIC, OWNER) });

describe("the topic's access policy", () => {
  it("grants exactly what AWS gives a new topic when no publisher is declared, under the owner's Id", () => {
    expect(canonicalJson(topicAccessPolicy(TOPIC, OWNER))).toBe(canonicalJson(OWNED_DEFAULT));
    expect(canonicalJson(topicAccessPolicy(TOPIC, OWNER, []))).toBe(canonicalJson(OWNED_DEFAULT));
    expect(claimedBy(canonicalJson(topicAccessPolicy(TOPIC, OWNER)), TOPIC, OWNER)).toBe(true);
    expect(claimedBy(AWS_DEFAULT, TOPIC, OWNER)).toBe(false);
  });

  it('adds accounts and roles as AWS principals and each service with its own conditions', () => {
    const policy = topicAccessPolicy(TOPIC, OWNER, [
      { service: 'events.amazonaws.com', sourceArn: 'arn:aws:events:us-east-1:123456789012:rule/r' },
      { accountId: '210987654321' },
      { roleArn: ROLE },
      { service: 's3.amazonaws.com', sourceAccount: '123456789012' },
      { accountId: '210987654321' },
    ]);
    const statements = policy['Statement'] as Record<string, unknown>[];
    expect(statements.map((s) => s['Sid'])).toEqual([
      '__default_statement_ID',
      'AllowPublishers',
      'AllowService0',
      'AllowService1',
    ]);
    expect(statements[1]).toMatchObject({
      Action: 'SNS:Publish',
      Resource: TOPIC,
      Principal: { AWS: [ROLE, 'arn:aws:iam::210987654321:root'] },
    });
    expect(statements[2]).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/r' } },
    });
    expect(statements[3]).toMatchObject({
      Principal: { Service: 's3.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
  });

  it('does not depend on the order of the spec', () => {
    const a = topicAccessPolicy(TOPIC, OWNER, [
      { accountId: '111111111111' },
      { service: 'events.amazonaws.com' },
    ]);
    const b = topicAccessPolicy(TOPIC, OWNER, [
      { service: 'events.amazonaws.com' },
      { accountId: '111111111111' },
    ]);
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('is part of the desired topic once its ARN is known, so CreateTopic sets it and a resync repairs it', () => {
    const topic = {
      apiVersion: 'pubsub.ecommerce.io/v1alpha1',
      kind: 'EventTopic',
      metadata: { namespace: 'shop', name: 'orders', uid: 'u' },
      spec: EventTopicSpecSchema.parse({ publishers: [{ accountId: '210987654321' }] }),
    } as EventTopic;
    const settings = { clusterName: 'c', namePrefix: 'pubsub', region: 'us-east-1' };
    expect(desiredTopic(topic, settings).attributes).not.toHaveProperty('Policy');
    expect(desiredTopic(topic, settings, TOPIC).attributes['Policy']).toContain('AllowPublishers');
  });
});
