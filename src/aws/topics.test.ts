import { describe, expect, it } from 'vitest';
import { NotFoundException, ThrottledException, type SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { fixedAccountIdentity, partitionOf, stsAccountIdentity, topicArn } from './account.ts';
import { policyId } from './ownership.ts';
import { SnsTopicGateway } from './topics.ts';
import { scriptedClient, type ScriptedHandler } from './scripted-client.ts';

const fakeSns = (handlers: Record<string, ScriptedHandler>) => scriptedClient<SNSClient>(handlers);

const meta = { $metadata: { httpStatusCode: 404 } };
const notFound = () => {
  throw new NotFoundException({ message: 'Topic does not exist', ...meta });
};
const region = 'eu-west-1';
const account = fixedAccountIdentity('111122223333');
const arn = 'arn:aws:sns:eu-west-1:111122223333:pubsub_shop_orders';

describe('SnsTopicGateway', () => {
  it('builds the ARN from region, account and name without a call', async () => {
    const { sent, client } = fakeSns({});
    expect(await new SnsTopicGateway(client, region, account).topicArn('pubsub_shop_orders')).toBe(arn);
    expect(sent).toEqual([]);
  });

  it('reads a missing topic as undefined with one call and never creates it', async () => {
    const { sent, client } = fakeSns({ GetTopicAttributes: notFound });
    expect(
      await new SnsTopicGateway(client, region, account).readTopic('pubsub_shop_orders'),
    ).toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['GetTopicAttributes']);
  });

  it('reads attributes and tags of a topic', async () => {
    const { sent, client } = fakeSns({
      GetTopicAttributes: () => ({ Attributes: { TopicArn: arn, DisplayName: 'Orders' } }),
      ListTagsForResource: () => ({ Tags: [{ Key: 'team', Value: 'orders' }] }),
    });
    expect(await new SnsTopicGateway(client, region, account).readTopic('pubsub_shop_orders')).toEqual({
      arn,
      attributes: { TopicArn: arn, DisplayName: 'Orders' },
      tags: { team: 'orders' },
    });
    expect(sent.map((s) => s.input)).toEqual([{ TopicArn: arn }, { ResourceArn: arn }]);
  });

  it('takes the tags of a claim its policy carries instead of reading them, and reads them otherwise', async () => {
    const owner = { uid: 'u-1' };
    const claim = { owner, tags: { team: 'orders' } };
    const withPolicy = (id: string) =>
      fakeSns({
        GetTopicAttributes: () => ({ Attributes: { TopicArn: arn, Policy: JSON.stringify({ Id: id }) } }),
        ListTagsForResource: () => ({ Tags: [{ Key: 'team', Value: 'someone' }] }),
      });
    const claimed = withPolicy(policyId(arn, owner));
    const read = await new SnsTopicGateway(claimed.client, region, account).readTopic(
      'pubsub_shop_orders',
      claim,
    );
    expect(read).toMatchObject({ arn, tags: claim.tags, tagsAssumed: true });
    expect(claimed.sent.map((s) => s.command)).toEqual(['GetTopicAttributes']);

    const other = withPolicy('__default_policy_ID');
    const full = await new SnsTopicGateway(other.client, region, account).readTopic(
      'pubsub_shop_orders',
      claim,
    );
    expect(full?.tags).toEqual({ team: 'someone' });
    expect(full?.tagsAssumed).toBeUndefined();
    expect(other.sent.map((s) => s.command)).toEqual(['GetTopicAttributes', 'ListTagsForResource']);
  });

  it('reads a topic deleted between its two reads as undefined', async () => {
    const { client } = fakeSns({
      GetTopicAttributes: () => ({ Attributes: {} }),
      ListTagsForResource: () => {
        throw new NotFoundException({ message: 'gone', ...meta });
      },
    });
    expect(await new SnsTopicGateway(client, region, account).readTopic('t')).toBeUndefined();
  });

  it('creates a topic with attributes and tags in one call', async () => {
    const { sent, client } = fakeSns({ CreateTopic: () => ({ TopicArn: arn }) });
    const created = await new SnsTopicGateway(client, region, account).createTopic(
      'pubsub_shop_orders',
      { DisplayName: 'Orders', FifoTopic: undefined },
      { team: 'orders' },
    );
    expect(created).toBe(arn);
    expect(sent).toEqual([
      {
        command: 'CreateTopic',
        input: {
          Name: 'pubsub_shop_orders',
          Attributes: { DisplayName: 'Orders' },
          Tags: [{ Key: 'team', Value: 'orders' }],
        },
      },
    ]);
  });

  it('sets attributes one call per entry, and makes no call for an empty delta', async () => {
    const { sent, client } = fakeSns({ SetTopicAttributes: () => ({}) });
    const topics = new SnsTopicGateway(client, region, account);
    await topics.setTopicAttributes(arn, {});
    expect(sent).toEqual([]);
    await topics.setTopicAttributes(arn, { DisplayName: 'x', KmsMasterKeyId: 'alias/k' });
    expect(sent.map((s) => s.input)).toEqual([
      { TopicArn: arn, AttributeName: 'DisplayName', AttributeValue: 'x' },
      { TopicArn: arn, AttributeName: 'KmsMasterKeyId', AttributeValue: 'alias/k' },
    ]);
  });

  it('tags and untags in batches of 50, and not at all when there is nothing to do', async () => {
    const { sent, client } = fakeSns({ TagResource: () => ({}), UntagResource: () => ({}) });
    const topics = new SnsTopicGateway(client, region, account);
    await topics.tagTopic(arn, {});
    await topics.untagTopic(arn, []);
    expect(sent).toEqual([]);
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, `v${i}`]));
    await topics.tagTopic(arn, many);
    await topics.untagTopic(arn, ['a', 'b']);
    expect(sent.map((s) => s.command)).toEqual(['TagResource', 'TagResource', 'UntagResource']);
    expect((sent[1]?.input['Tags'] as unknown[]).length).toBe(10);
  });

  it('treats deleting a missing topic or subscription as done', async () => {
    const { client } = fakeSns({ DeleteTopic: notFound, Unsubscribe: notFound });
    const topics = new SnsTopicGateway(client, region, account);
    await expect(topics.deleteTopic(arn)).resolves.toBeUndefined();
    await expect(topics.unsubscribe(`${arn}:sub`)).resolves.toBeUndefined();
  });

  it('lists subscriptions across every page', async () => {
    const page = (n: number) => ({
      SubscriptionArn: `${arn}:${n}`,
      TopicArn: arn,
      Protocol: 'sqs',
      Endpoint: `q${n}`,
    });
    const pages: Record<string, unknown> = {
      '': { Subscriptions: [page(1), page(2)], NextToken: 'a' },
      a: { Subscriptions: [page(3)], NextToken: 'b' },
      b: { Subscriptions: [] },
    };
    const { sent, client } = fakeSns({
      ListSubscriptionsByTopic: (input) => pages[(input['NextToken'] as string | undefined) ?? ''],
    });
    const subscriptions = await new SnsTopicGateway(client, region, account).listSubscriptionsByTopic(arn);
    expect(subscriptions.map((s) => s.endpoint)).toEqual(['q1', 'q2', 'q3']);
    expect(subscriptions[0]).toEqual({ arn: `${arn}:1`, topicArn: arn, protocol: 'sqs', endpoint: 'q1' });
    expect(sent).toHaveLength(3);
  });

  it('subscribes a queue with normalised attributes and gets the ARN back at once', async () => {
    const { sent, client } = fakeSns({ Subscribe: () => ({ SubscriptionArn: `${arn}:s1` }) });
    const subscription = await new SnsTopicGateway(client, region, account).subscribe(arn, 'arn:aws:sqs:q', {
      RawMessageDelivery: true,
      FilterPolicy: { eventType: ['OrderCreated'] },
    });
    expect(subscription).toBe(`${arn}:s1`);
    expect(sent[0]?.input).toEqual({
      TopicArn: arn,
      Protocol: 'sqs',
      Endpoint: 'arn:aws:sqs:q',
      Attributes: { RawMessageDelivery: 'true', FilterPolicy: '{"eventType":["OrderCreated"]}' },
      ReturnSubscriptionArn: true,
    });
  });

  it('reads a subscription, or undefined when it is gone', async () => {
    const attributes = { TopicArn: arn, Protocol: 'sqs', Endpoint: 'arn:q', RawMessageDelivery: 'true' };
    const { client } = fakeSns({
      GetSubscriptionAttributes: (input) => {
        if (input['SubscriptionArn'] === 'gone') notFound();
        return { Attributes: attributes };
      },
    });
    const topics = new SnsTopicGateway(client, region, account);
    expect(await topics.readSubscription('s')).toEqual({
      arn: 's',
      topicArn: arn,
      protocol: 'sqs',
      endpoint: 'arn:q',
      attributes,
    });
    expect(await topics.readSubscription('gone')).toBeUndefined();
  });

  it('throws AwsError naming the call for anything but notFound on a read', async () => {
    const { client } = fakeSns({
      GetTopicAttributes: () => {
        throw new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
      },
    });
    await expect(new SnsTopicGateway(client, region, account).readTopic('t')).rejects.toMatchObject({
      name: 'AwsError',
      kind: 'retryable',
      service: 'sns',
      operation: 'GetTopicAttributes',
    });
  });
});

describe('stsAccountIdentity', () => {
  it('asks STS once, shares the answer, and does not remember a failure', async () => {
    let calls = 0;
    let fail = true;
    const sts = {
      send(command: unknown) {
        expect(command).toBeInstanceOf(GetCallerIdentityCommand);
        calls++;
        if (fail) return Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
        return Promise.resolve({ Account: '111122223333' });
      },
    } as unknown as Pick<STSClient, 'send'>;
    const identity = stsAccountIdentity(sts);
    await expect(identity.accountId()).rejects.toMatchObject({
      kind: 'retryable',
      operation: 'GetCallerIdentity',
    });
    fail = false;
    const answers = await Promise.all([identity.accountId(), identity.accountId(), identity.accountId()]);
    expect(answers).toEqual(['111122223333', '111122223333', '111122223333']);
    expect(await identity.accountId()).toBe('111122223333');
    expect(calls).toBe(2);
  });
});

describe('ARNs', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('%s is in partition %s', (r, partition) => {
    expect(partitionOf(r)).toBe(partition);
    expect(topicArn(r, '1', 't')).toBe(`arn:${partition}:sns:${r}:1:t`);
  });
});
