import { describe, expect, it } from 'vitest';
import {
  InvalidAttributeName,
  QueueDoesNotExist,
  QueueNameExists,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { endpointMayLack, queueArnFromUrl, SqsQueueGateway } from './queues.ts';
import { policyId } from './ownership.ts';
import { scriptedClient, type ScriptedHandler } from './scripted-client.ts';

const fakeSqs = (handlers: Record<string, ScriptedHandler>) => scriptedClient<SQSClient>(handlers);

const missing = () => {
  throw new QueueDoesNotExist({
    message: 'The specified queue does not exist.',
    $metadata: { httpStatusCode: 400 },
  });
};
const region = 'eu-west-1';
const url = 'https://sqs.eu-west-1.amazonaws.com/111122223333/pubsub_shop_orders';
const arn = 'arn:aws:sqs:eu-west-1:111122223333:pubsub_shop_orders';

describe('SqsQueueGateway', () => {
  it('reads a missing queue as undefined with one call and never creates it', async () => {
    const { sent, client } = fakeSqs({ GetQueueUrl: missing });
    expect(await new SqsQueueGateway(client, region).readQueue('pubsub_shop_orders')).toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['GetQueueUrl']);
  });

  it('reads url, arn, all attributes and tags in three calls', async () => {
    const { sent, client } = fakeSqs({
      GetQueueUrl: () => ({ QueueUrl: url }),
      GetQueueAttributes: () => ({ Attributes: { QueueArn: arn, VisibilityTimeout: '30' } }),
      ListQueueTags: () => ({ Tags: { team: 'orders' } }),
    });
    expect(await new SqsQueueGateway(client, region).readQueue('pubsub_shop_orders')).toEqual({
      url,
      arn,
      attributes: { QueueArn: arn, VisibilityTimeout: '30' },
      tags: { team: 'orders' },
    });
    expect(sent.map((s) => s.command)).toEqual(['GetQueueUrl', 'GetQueueAttributes', 'ListQueueTags']);
    expect(sent[1]?.input).toEqual({ QueueUrl: url, AttributeNames: ['All'] });
  });

  it('takes the tags of a claim its policy carries instead of reading them, and reads them otherwise', async () => {
    const owner = { uid: 'u-1' };
    const claim = { owner, tags: { team: 'orders', 'pubsub.ecommerce.io/uid': 'u-1' } };
    const withPolicy = (id: string) =>
      fakeSqs({
        GetQueueAttributes: () => ({ Attributes: { QueueArn: arn, Policy: JSON.stringify({ Id: id }) } }),
        ListQueueTags: () => ({ Tags: { team: 'someone' } }),
      });
    const claimed = withPolicy(policyId(arn, owner));
    expect(
      await new SqsQueueGateway(claimed.client, region).readQueue('pubsub_shop_orders', url, claim),
    ).toEqual({
      url,
      arn,
      attributes: { QueueArn: arn, Policy: JSON.stringify({ Id: policyId(arn, owner) }) },
      tags: claim.tags,
      tagsAssumed: true,
    });
    expect(claimed.sent.map((s) => s.command)).toEqual(['GetQueueAttributes']);

    // Another owner's Id, or none: ownership comes from the tags as always.
    for (const id of [policyId(arn, { uid: 'u-2' }), '__default_policy_ID']) {
      const other = withPolicy(id);
      const read = await new SqsQueueGateway(other.client, region).readQueue(
        'pubsub_shop_orders',
        url,
        claim,
      );
      expect(read?.tags).toEqual({ team: 'someone' });
      expect(read?.tagsAssumed).toBeUndefined();
      expect(other.sent.map((s) => s.command)).toEqual(['GetQueueAttributes', 'ListQueueTags']);
    }
  });

  it('reads a queue deleted between its reads as undefined', async () => {
    const { client } = fakeSqs({ GetQueueUrl: () => ({ QueueUrl: url }), GetQueueAttributes: missing });
    expect(await new SqsQueueGateway(client, region).readQueue('pubsub_shop_orders')).toBeUndefined();
  });

  it('creates a queue with attributes and tags in one call and derives its ARN from the URL', async () => {
    const { sent, client } = fakeSqs({ CreateQueue: () => ({ QueueUrl: url }) });
    const created = await new SqsQueueGateway(client, region).createQueue(
      'pubsub_shop_orders',
      { VisibilityTimeout: 30, RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: 'arn:dlq' } },
      { team: 'orders' },
    );
    expect(created).toEqual({ url, arn });
    expect(sent).toEqual([
      {
        command: 'CreateQueue',
        input: {
          QueueName: 'pubsub_shop_orders',
          Attributes: {
            VisibilityTimeout: '30',
            RedrivePolicy: '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":3}',
          },
          tags: { team: 'orders' },
        },
      },
    ]);
  });

  it('classifies a name taken with other attributes as terminal', async () => {
    const { client } = fakeSqs({
      CreateQueue: () => {
        throw new QueueNameExists({ message: 'exists', $metadata: { httpStatusCode: 400 } });
      },
    });
    await expect(new SqsQueueGateway(client, region).createQueue('q', {}, {})).rejects.toMatchObject({
      kind: 'terminal',
      operation: 'CreateQueue',
      message: expect.stringMatching(/queue named q already exists/) as unknown,
    });
  });

  it('makes no call for an empty delta, tag set or key list', async () => {
    const { sent, client } = fakeSqs({});
    const queues = new SqsQueueGateway(client, region);
    await queues.setQueueAttributes(url, {});
    await queues.tagQueue(url, {});
    await queues.untagQueue(url, []);
    expect(sent).toEqual([]);
  });

  it('updates, tags and untags with one call each', async () => {
    const { sent, client } = fakeSqs({
      SetQueueAttributes: () => ({}),
      TagQueue: () => ({}),
      UntagQueue: () => ({}),
    });
    const queues = new SqsQueueGateway(client, region);
    await queues.setQueueAttributes(url, { VisibilityTimeout: '60', DelaySeconds: '1' });
    await queues.tagQueue(url, { a: '1', b: '2' });
    await queues.untagQueue(url, ['c']);
    expect(sent).toEqual([
      {
        command: 'SetQueueAttributes',
        input: { QueueUrl: url, Attributes: { VisibilityTimeout: '60', DelaySeconds: '1' } },
      },
      { command: 'TagQueue', input: { QueueUrl: url, Tags: { a: '1', b: '2' } } },
      { command: 'UntagQueue', input: { QueueUrl: url, TagKeys: ['c'] } },
    ]);
  });

  it('treats deleting a missing queue as done', async () => {
    const { client } = fakeSqs({ DeleteQueue: missing });
    await expect(new SqsQueueGateway(client, region).deleteQueue(url)).resolves.toBeUndefined();
  });

  it('reads the backlog from the three Approximate attributes', async () => {
    const { sent, client } = fakeSqs({
      GetQueueAttributes: () => ({
        Attributes: {
          ApproximateNumberOfMessages: '7',
          ApproximateNumberOfMessagesNotVisible: '2',
          ApproximateNumberOfMessagesDelayed: '0',
        },
      }),
    });
    expect(await new SqsQueueGateway(client, region).readBacklog(url)).toEqual({
      visible: 7,
      inFlight: 2,
      delayed: 0,
    });
    expect(sent).toHaveLength(1);
  });

  it('sets the rest without an attribute the endpoint refuses as unknown and may lack, and remembers it', async () => {
    const refused = (name: string) =>
      new InvalidAttributeName({
        message: `The attribute ${name} is invalid.`,
        $metadata: { httpStatusCode: 400 },
      });
    const { sent, client } = fakeSqs({
      SetQueueAttributes: (input) => {
        const attributes = (input as { Attributes: Record<string, string> }).Attributes;
        if ('SqsManagedSseEnabled' in attributes) throw refused('SqsManagedSseEnabled');
        if ('RedriveAllowPolicy' in attributes) throw refused('RedriveAllowPolicy');
        return {};
      },
    });
    const gateway = new SqsQueueGateway(client, region);
    await gateway.setQueueAttributes(url, {
      VisibilityTimeout: '45',
      SqsManagedSseEnabled: 'true',
      RedriveAllowPolicy: '{"redrivePermission":"byQueue"}',
    });
    expect(sent.map((s) => Object.keys((s.input as { Attributes: object }).Attributes))).toEqual([
      ['VisibilityTimeout', 'SqsManagedSseEnabled', 'RedriveAllowPolicy'],
      ['VisibilityTimeout', 'RedriveAllowPolicy'],
      ['VisibilityTimeout'],
    ]);
    // Known now: no call to ask.
    expect(await gateway.supportsAttribute(url, 'SqsManagedSseEnabled')).toBe(false);
    expect(sent).toHaveLength(3);
  });

  it('keeps refusing a KMS key, and any attribute an endpoint may not leave out', async () => {
    const { sent, client } = fakeSqs({
      SetQueueAttributes: () => {
        throw new InvalidAttributeName({
          message: 'Unknown Attribute KmsMasterKeyId.',
          $metadata: { httpStatusCode: 400 },
        });
      },
    });
    await expect(
      new SqsQueueGateway(client, region).setQueueAttributes(url, { KmsMasterKeyId: 'alias/orders' }),
    ).rejects.toMatchObject({ code: 'InvalidAttributeName' });
    expect(sent).toHaveLength(1);
    expect(endpointMayLack('KmsMasterKeyId', '')).toBe(true);
    expect(endpointMayLack('KmsMasterKeyId', 'alias/orders')).toBe(false);
    expect(endpointMayLack('Policy', '{}')).toBe(false);
  });

  it('reads a missing backlog as notFound', async () => {
    const { client } = fakeSqs({ GetQueueAttributes: missing });
    await expect(new SqsQueueGateway(client, region).readBacklog(url)).rejects.toMatchObject({
      kind: 'notFound',
    });
  });
});

describe('queueArnFromUrl', () => {
  it.each([
    [url, arn],
    ['https://sqs.us-east-1.amazonaws.com/1/q.fifo', 'arn:aws:sqs:eu-west-1:1:q.fifo'],
    ['http://127.0.0.1:15566/123456789012/q', 'arn:aws:sqs:eu-west-1:123456789012:q'],
  ])('%s → %s', (queueUrl, expected) => {
    expect(queueArnFromUrl(region, queueUrl)).toBe(expected);
  });

  it('refuses something that is not a queue URL', () => {
    expect(() => queueArnFromUrl(region, 'http://host/')).toThrow(/not an SQS queue URL/);
  });
});
