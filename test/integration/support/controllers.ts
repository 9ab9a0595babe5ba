// Driving the operator's custom resources on the bed and looking at what it made in moto.
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Condition } from '../../../src/crds/index.ts';
import { awsClientConfig, eventually } from './bed.ts';
import { customObjects, GROUP, kubectl, KIND_OF, messageOf, VERSION, type Plural } from './crds.ts';

export const sqs = () => new SQSClient(awsClientConfig());
export const sns = () => new SNSClient(awsClientConfig());

export interface Resource {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation: number;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec: Record<string, unknown>;
  status?: { conditions?: Condition[]; observedGeneration?: number; [key: string]: unknown };
}

/** Server-side applies one object, as `kubectl apply --server-side` would. */
export function applyObject(
  namespace: string,
  plural: Plural,
  name: string,
  spec: unknown,
  metadata: Record<string, unknown> = {},
): void {
  const body = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND_OF[plural],
    metadata: { name, ...metadata },
    spec,
  };
  kubectl(
    ['apply', '--server-side', '--field-manager=tests', '-n', namespace, '-f', '-'],
    JSON.stringify(body),
  );
}

export async function getObject(
  namespace: string,
  plural: Plural,
  name: string,
): Promise<Resource | undefined> {
  try {
    return (await customObjects().getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      name,
    })) as Resource;
  } catch (error) {
    if (messageOf(error).includes('not found')) return undefined;
    throw error;
  }
}

export function conditionOf(obj: Resource | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until condition `type` has `status` (and `reason`, when given) for the current generation. */
export async function waitForCondition(
  namespace: string,
  plural: Plural,
  name: string,
  type: string,
  status: 'True' | 'False',
  reason?: string,
  timeoutMs = 60_000,
): Promise<Resource> {
  return eventually(
    async () => {
      const obj = await getObject(namespace, plural, name);
      const c = conditionOf(obj, type);
      const current =
        c?.observedGeneration === undefined || c.observedGeneration === obj?.metadata.generation;
      return c && c.status === status && (!reason || c.reason === reason) && current ? obj : undefined;
    },
    { timeoutMs, what: `${plural}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}` },
  );
}

export async function deleteObject(namespace: string, plural: Plural, name: string): Promise<void> {
  try {
    await customObjects().deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      name,
    });
  } catch (error) {
    if (!messageOf(error).includes('not found')) throw error;
  }
}

export async function waitGone(
  namespace: string,
  plural: Plural,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(async () => ((await getObject(namespace, plural, name)) ? undefined : true), {
    timeoutMs,
    what: `${plural}/${name} to be gone`,
  });
}

/** The queue's URL in moto, or undefined when there is no such queue. */
export async function queueUrl(name: string): Promise<string | undefined> {
  try {
    return (await sqs().send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (error instanceof Error && /NonExistentQueue|QueueDoesNotExist/.test(error.name)) return undefined;
    throw error;
  }
}

export async function queueAttributes(url: string): Promise<Record<string, string>> {
  return (
    (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes ?? {}
  );
}

export async function queueTags(url: string): Promise<Record<string, string>> {
  return (await sqs().send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
}

/** Subscriptions of one topic whose endpoint is `queueArn`. */
export async function subscriptionsTo(topicArn: string, queueArn: string): Promise<string[]> {
  const { Subscriptions = [] } = await sns().send(
    new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
  );
  return Subscriptions.filter((s) => s.Endpoint === queueArn).map((s) => s.SubscriptionArn ?? '');
}

/** Deletes every object of the kinds given (the operator still running cleans up), then waits. */
export async function deleteAll(namespace: string, plurals: Plural[], timeoutMs = 60_000): Promise<void> {
  for (const plural of plurals) {
    const list = (await customObjects().listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
    })) as {
      items: Resource[];
    };
    for (const item of list.items) {
      // Tests leave messages behind; allow their queues to go anyway.
      if (plural === 'consumerqueues') {
        kubectl([
          'annotate',
          '--overwrite',
          '-n',
          namespace,
          `${plural}/${item.metadata.name}`,
          'pubsub.ecommerce.io/allow-delete-with-messages=true',
        ]);
      }
      await deleteObject(namespace, plural, item.metadata.name);
    }
    for (const item of list.items) await waitGone(namespace, plural, item.metadata.name, timeoutMs);
  }
}
