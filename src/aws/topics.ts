// SNS reduced to what the topic and queue controllers need: read, create, update by delta and
// delete a topic, and the same for the subscriptions that deliver it to queues. Reads never create;
// deletes of something already gone succeed; every failure is an AwsError.
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  ListTagsForResourceCommand,
  SetSubscriptionAttributesCommand,
  SetTopicAttributesCommand,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
  UntagResourceCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { topicArn, type AccountIdentity } from './account.ts';
import { normalizeAttributes, type Attributes, type DesiredAttributes } from './attributes.ts';
import { guarded, unlessNotFound, type CallContext } from './errors.ts';
import { claimedBy, type Tags, type TagsClaim } from './ownership.ts';

export interface TopicState {
  arn: string;
  /** Everything GetTopicAttributes reports, as AWS reports it. */
  attributes: Attributes;
  tags: Tags;
  /** The tags were not read: the policy carried the claim offered, and they are the claim's. */
  tagsAssumed?: true;
}

export interface SubscriptionSummary {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
}

export interface SubscriptionState extends SubscriptionSummary {
  /** Everything GetSubscriptionAttributes reports (FilterPolicy, RawMessageDelivery, ...). */
  attributes: Attributes;
}

export interface TopicGateway {
  /** The ARN a topic of this name has (or would have) in the operator's account and region. */
  topicArn(name: string): Promise<string>;
  /**
   * GetTopicAttributes + ListTagsForResource; undefined when there is no such topic. With a claim
   * its Policy carries, the tags are the claim's and are not read.
   */
  readTopic(name: string, claim?: TagsClaim): Promise<TopicState | undefined>;
  /** CreateTopic with attributes and tags in the one call; returns the ARN. */
  createTopic(name: string, attributes: DesiredAttributes, tags: Tags): Promise<string>;
  /** One SetTopicAttributes per entry (the API takes one at a time); nothing for an empty delta. */
  setTopicAttributes(arn: string, delta: Attributes): Promise<void>;
  tagTopic(arn: string, tags: Tags): Promise<void>;
  untagTopic(arn: string, keys: readonly string[]): Promise<void>;
  deleteTopic(arn: string): Promise<void>;
  /** Every subscription of the topic, all pages read; none for a topic that does not exist. */
  listSubscriptionsByTopic(arn: string): Promise<SubscriptionSummary[]>;
  /**
   * The SQS subscriptions of the whole account whose endpoint is this queue ARN, all pages read:
   * the one way to find a subscription whose topic nobody recorded. Costly in a large account.
   */
  listSubscriptionsToQueue(queueArn: string): Promise<SubscriptionSummary[]>;
  readSubscription(arn: string): Promise<SubscriptionState | undefined>;
  /** Subscribes an SQS queue; returns the subscription ARN at once (ReturnSubscriptionArn). */
  subscribe(topicArn: string, queueArn: string, attributes: DesiredAttributes): Promise<string>;
  /** One SetSubscriptionAttributes per entry; nothing for an empty delta. */
  setSubscriptionAttributes(arn: string, delta: Attributes): Promise<void>;
  unsubscribe(arn: string): Promise<void>;
}

/** SNS takes at most 50 tags per TagResource call. */
const TAGS_PER_CALL = 50;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const sns = (operation: string, resource?: string): CallContext =>
  resource === undefined ? { service: 'sns', operation } : { service: 'sns', operation, resource };

export class SnsTopicGateway implements TopicGateway {
  private readonly client: Pick<SNSClient, 'send'>;
  private readonly region: string;
  private readonly account: AccountIdentity;

  constructor(client: Pick<SNSClient, 'send'>, region: string, account: AccountIdentity) {
    this.client = client;
    this.region = region;
    this.account = account;
  }

  async topicArn(name: string): Promise<string> {
    return topicArn(this.region, await this.account.accountId(), name);
  }

  async readTopic(name: string, claim?: TagsClaim): Promise<TopicState | undefined> {
    const arn = await this.topicArn(name);
    const found = await unlessNotFound(sns('GetTopicAttributes', arn), () =>
      this.client.send(new GetTopicAttributesCommand({ TopicArn: arn })),
    );
    if (!found) return undefined;
    if (claim && claimedBy(found.Attributes?.['Policy'], arn, claim.owner))
      return { arn, attributes: { ...found.Attributes }, tags: { ...claim.tags }, tagsAssumed: true };
    const tagged = await unlessNotFound(sns('ListTagsForResource', arn), () =>
      this.client.send(new ListTagsForResourceCommand({ ResourceArn: arn })),
    );
    // Deleted between the two calls: as good as never there.
    if (!tagged) return undefined;
    const tags: Tags = {};
    for (const { Key, Value } of tagged.Tags ?? []) if (Key !== undefined) tags[Key] = Value ?? '';
    return { arn, attributes: { ...found.Attributes }, tags };
  }

  async createTopic(name: string, attributes: DesiredAttributes, tags: Tags): Promise<string> {
    const { TopicArn } = await guarded(sns('CreateTopic', name), () =>
      this.client.send(
        new CreateTopicCommand({
          Name: name,
          Attributes: normalizeAttributes(attributes),
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
    return TopicArn ?? (await this.topicArn(name));
  }

  async setTopicAttributes(arn: string, delta: Attributes): Promise<void> {
    for (const [AttributeName, AttributeValue] of Object.entries(delta)) {
      await guarded(sns('SetTopicAttributes', arn), () =>
        this.client.send(new SetTopicAttributesCommand({ TopicArn: arn, AttributeName, AttributeValue })),
      );
    }
  }

  async tagTopic(arn: string, tags: Tags): Promise<void> {
    for (const batch of chunks(Object.entries(tags), TAGS_PER_CALL)) {
      await guarded(sns('TagResource', arn), () =>
        this.client.send(
          new TagResourceCommand({ ResourceArn: arn, Tags: batch.map(([Key, Value]) => ({ Key, Value })) }),
        ),
      );
    }
  }

  async untagTopic(arn: string, keys: readonly string[]): Promise<void> {
    for (const batch of chunks(keys, TAGS_PER_CALL)) {
      await guarded(sns('UntagResource', arn), () =>
        this.client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: batch })),
      );
    }
  }

  async deleteTopic(arn: string): Promise<void> {
    await unlessNotFound(sns('DeleteTopic', arn), () =>
      this.client.send(new DeleteTopicCommand({ TopicArn: arn })),
    );
  }

  async listSubscriptionsByTopic(arn: string): Promise<SubscriptionSummary[]> {
    const out: SubscriptionSummary[] = [];
    let NextToken: string | undefined;
    do {
      const page = await unlessNotFound(sns('ListSubscriptionsByTopic', arn), () =>
        this.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: arn, NextToken })),
      );
      if (!page) return [];
      for (const s of page.Subscriptions ?? []) {
        out.push({
          arn: s.SubscriptionArn ?? '',
          topicArn: s.TopicArn ?? arn,
          protocol: s.Protocol ?? '',
          endpoint: s.Endpoint ?? '',
        });
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  async listSubscriptionsToQueue(queueArn: string): Promise<SubscriptionSummary[]> {
    const out: SubscriptionSummary[] = [];
    let NextToken: string | undefined;
    do {
      const page = await guarded(sns('ListSubscriptions', queueArn), () =>
        this.client.send(new ListSubscriptionsCommand({ NextToken })),
      );
      for (const s of page.Subscriptions ?? []) {
        if (s.Protocol !== 'sqs' || s.Endpoint !== queueArn) continue;
        out.push({
          arn: s.SubscriptionArn ?? '',
          topicArn: s.TopicArn ?? '',
          protocol: 'sqs',
          endpoint: queueArn,
        });
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  async readSubscription(arn: string): Promise<SubscriptionState | undefined> {
    const found = await unlessNotFound(sns('GetSubscriptionAttributes', arn), () =>
      this.client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn })),
    );
    if (!found) return undefined;
    const attributes: Attributes = { ...found.Attributes };
    return {
      arn,
      topicArn: attributes['TopicArn'] ?? '',
      protocol: attributes['Protocol'] ?? '',
      endpoint: attributes['Endpoint'] ?? '',
      attributes,
    };
  }

  async subscribe(topicArn: string, queueArn: string, attributes: DesiredAttributes): Promise<string> {
    const { SubscriptionArn } = await guarded(sns('Subscribe', topicArn), () =>
      this.client.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          Attributes: normalizeAttributes(attributes),
          ReturnSubscriptionArn: true,
        }),
      ),
    );
    if (!SubscriptionArn)
      throw new Error(`Subscribe of ${queueArn} to ${topicArn} returned no subscription ARN`);
    return SubscriptionArn;
  }

  async setSubscriptionAttributes(arn: string, delta: Attributes): Promise<void> {
    for (const [AttributeName, AttributeValue] of Object.entries(delta)) {
      await guarded(sns('SetSubscriptionAttributes', arn), () =>
        this.client.send(
          new SetSubscriptionAttributesCommand({ SubscriptionArn: arn, AttributeName, AttributeValue }),
        ),
      );
    }
  }

  async unsubscribe(arn: string): Promise<void> {
    await unlessNotFound(sns('Unsubscribe', arn), () =>
      this.client.send(new UnsubscribeCommand({ SubscriptionArn: arn })),
    );
  }
}
