// SQS reduced to what the queue controller needs: read, create, update by delta and delete a
// queue, and read its backlog. Reads never create; deleting a queue already gone succeeds; every
// failure is an AwsError.
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { queueArn } from './account.ts';
import { normalizeAttributes, type Attributes, type DesiredAttributes } from './attributes.ts';
import { AwsError, guarded, unlessNotFound, type CallContext } from './errors.ts';
import { claimedBy, type Tags, type TagsClaim } from './ownership.ts';

export interface QueueState {
  url: string;
  arn: string;
  /** Every attribute GetQueueAttributes(All) reports, as AWS reports it. */
  attributes: Attributes;
  tags: Tags;
  /** The tags were not read: the policy carried the claim offered, and they are the claim's. */
  tagsAssumed?: true;
}

/** Messages in the queue by state, from the Approximate* attributes. */
export interface Backlog {
  /** ApproximateNumberOfMessages: waiting to be received. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not yet deleted. */
  inFlight: number;
  /** ApproximateNumberOfMessagesDelayed: not yet deliverable. */
  delayed: number;
}

export interface QueueGateway {
  /**
   * GetQueueUrl + GetQueueAttributes(All) + ListQueueTags; undefined when there is no such queue.
   * `knownUrl` (from status) spares the GetQueueUrl call of a resync when it names the same queue;
   * a URL that no longer answers falls back to the lookup. With a claim its Policy carries, the
   * tags are the claim's and are not read.
   */
  readQueue(name: string, knownUrl?: string, claim?: TagsClaim): Promise<QueueState | undefined>;
  /** CreateQueue with attributes and tags in the one call. */
  createQueue(name: string, attributes: DesiredAttributes, tags: Tags): Promise<{ url: string; arn: string }>;
  /** One SetQueueAttributes for the whole delta; nothing for an empty one. */
  setQueueAttributes(url: string, delta: Attributes): Promise<void>;
  tagQueue(url: string, tags: Tags): Promise<void>;
  untagQueue(url: string, keys: readonly string[]): Promise<void>;
  deleteQueue(url: string): Promise<void>;
  readBacklog(url: string): Promise<Backlog>;
  /**
   * Whether the endpoint knows a queue attribute at all. SQS-compatible emulators lack some (moto
   * has no RedriveAllowPolicy); asking once spares an update on every reconcile for an attribute the
   * endpoint drops. Answers are cached per attribute.
   */
  supportsAttribute(url: string, name: string): Promise<boolean>;
}

const sqs = (operation: string, resource: string): CallContext => ({ service: 'sqs', operation, resource });

/** The queue name an SQS queue URL ends in. */
export function queueNameOfUrl(url: string): string | undefined {
  try {
    return new URL(url).pathname
      .split('/')
      .filter((part) => part !== '')
      .pop();
  } catch {
    return undefined;
  }
}

/**
 * Whether an SQS-compatible endpoint may lack this attribute, with this value, and the operator
 * leave it out: the redrive allow-list and SQS-managed encryption, which emulators (moto,
 * ElasticMQ) do not have. A KMS key is never left out: asked for and refused, it stays refused.
 */
export function endpointMayLack(name: string, value: string): boolean {
  return (
    name === 'RedriveAllowPolicy' ||
    name === 'SqsManagedSseEnabled' ||
    (name === 'KmsMasterKeyId' && value === '')
  );
}

/**
 * Attributes SQS reports for every queue in GetQueueAttributes(All). Absent from an endpoint's
 * answer, the endpoint does not keep them (ElasticMQ takes MessageRetentionPeriod and
 * MaximumMessageSize and forgets them): there is nothing to compare, and setting them again at
 * every reconcile would change nothing.
 */
export const ALWAYS_REPORTED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'SqsManagedSseEnabled',
  'VisibilityTimeout',
]);

/** The attribute an InvalidAttributeName refusal names ("The attribute X is invalid.", "Unknown Attribute X."). */
export function refusedAttributeOf(error: unknown): string | undefined {
  if (!(error instanceof AwsError) || error.code !== 'InvalidAttributeName') return undefined;
  const match = /attribute(?: name)? '?"?([A-Za-z]+)'?"? is invalid|unknown attribute '?"?([A-Za-z]+)/i.exec(
    error.message,
  );
  return match?.[1] ?? match?.[2];
}

/**
 * The ARN of the queue at `url`: SQS queue URLs end in `/<account>/<name>`, so no call is needed.
 */
export function queueArnFromUrl(region: string, url: string): string {
  const [account, name] = new URL(url).pathname
    .split('/')
    .filter((part) => part !== '')
    .slice(-2);
  if (!account || !name) throw new Error(`not an SQS queue URL: ${url}`);
  return queueArn(region, account, name);
}

function count(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

export class SqsQueueGateway implements QueueGateway {
  private readonly client: Pick<SQSClient, 'send'>;
  private readonly region: string;
  private readonly support = new Map<string, Promise<boolean>>();

  constructor(client: Pick<SQSClient, 'send'>, region: string) {
    this.client = client;
    this.region = region;
  }

  async readQueue(name: string, knownUrl?: string, claim?: TagsClaim): Promise<QueueState | undefined> {
    if (knownUrl && queueNameOfUrl(knownUrl) === name) {
      const known = await this.readQueueAt(name, knownUrl, claim);
      if (known) return known;
    }
    const located = await unlessNotFound(sqs('GetQueueUrl', name), () =>
      this.client.send(new GetQueueUrlCommand({ QueueName: name })),
    );
    const url = located?.QueueUrl;
    if (!url) return undefined;
    return this.readQueueAt(name, url, claim);
  }

  /** Attributes and tags of the queue at `url`; undefined when it does not answer there. */
  private async readQueueAt(name: string, url: string, claim?: TagsClaim): Promise<QueueState | undefined> {
    const described = await unlessNotFound(sqs('GetQueueAttributes', name), () =>
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })),
    );
    if (!described) return undefined;
    const read: Attributes = { ...described.Attributes };
    const arn = read['QueueArn'] ?? queueArnFromUrl(this.region, url);
    if (claim && claimedBy(read['Policy'], arn, claim.owner))
      return { url, arn, attributes: read, tags: { ...claim.tags }, tagsAssumed: true };
    const tagged = await unlessNotFound(sqs('ListQueueTags', name), () =>
      this.client.send(new ListQueueTagsCommand({ QueueUrl: url })),
    );
    // Deleted between the calls: as good as never there.
    if (!tagged) return undefined;
    return { url, arn, attributes: read, tags: { ...tagged.Tags } };
  }

  async createQueue(name: string, attributes: DesiredAttributes, tags: Tags) {
    const { QueueUrl } = await guarded(sqs('CreateQueue', name), () =>
      this.client.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: normalizeAttributes(attributes),
          tags: { ...tags },
        }),
      ),
    );
    if (!QueueUrl) throw new Error(`CreateQueue of ${name} returned no queue URL`);
    return { url: QueueUrl, arn: queueArnFromUrl(this.region, QueueUrl) };
  }

  /**
   * An attribute the endpoint refuses as unknown, and may lack (endpointMayLack), is remembered as
   * unsupported and the rest is set without it: CreateQueue of such endpoints ignores it silently,
   * SetQueueAttributes refuses it, and GetQueueAttributes naming it answers nothing either way.
   */
  async setQueueAttributes(url: string, delta: Attributes): Promise<void> {
    let rest = { ...delta };
    while (Object.keys(rest).length > 0) {
      try {
        await guarded(sqs('SetQueueAttributes', url), () =>
          this.client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: rest })),
        );
        return;
      } catch (error) {
        const refused = refusedAttributeOf(error);
        if (!refused || !(refused in rest) || !endpointMayLack(refused, rest[refused] ?? '')) throw error;
        this.support.set(refused, Promise.resolve(false));
        const { [refused]: _unknown, ...others } = rest;
        rest = others;
      }
    }
  }

  async tagQueue(url: string, tags: Tags): Promise<void> {
    if (Object.keys(tags).length === 0) return;
    await guarded(sqs('TagQueue', url), () =>
      this.client.send(new TagQueueCommand({ QueueUrl: url, Tags: tags })),
    );
  }

  async untagQueue(url: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await guarded(sqs('UntagQueue', url), () =>
      this.client.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: [...keys] })),
    );
  }

  async deleteQueue(url: string): Promise<void> {
    await unlessNotFound(sqs('DeleteQueue', url), () =>
      this.client.send(new DeleteQueueCommand({ QueueUrl: url })),
    );
  }

  async readBacklog(url: string): Promise<Backlog> {
    const { Attributes = {} } = await guarded(sqs('GetQueueAttributes', url), () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    return {
      visible: count(Attributes['ApproximateNumberOfMessages']),
      inFlight: count(Attributes['ApproximateNumberOfMessagesNotVisible']),
      delayed: count(Attributes['ApproximateNumberOfMessagesDelayed']),
    };
  }

  supportsAttribute(url: string, name: string): Promise<boolean> {
    let answer = this.support.get(name);
    if (!answer) {
      answer = guarded(sqs('GetQueueAttributes', url), () =>
        this.client.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [name as QueueAttributeName] }),
        ),
      ).then(
        () => true,
        (error: unknown) => {
          if (error instanceof AwsError && error.code === 'InvalidAttributeName') return false;
          this.support.delete(name); // unknown: ask again next time
          throw error;
        },
      );
      this.support.set(name, answer);
    }
    return answer;
  }
}
