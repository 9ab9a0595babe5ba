// Pure: the one place for references between the operator's objects. A reference names an object
// by namespace and name; an omitted namespace and the referrer's own namespace are the same
// reference. Using an EventTopic from another namespace needs that topic's consent: subscribing
// needs spec.allowedConsumerNamespaces, publishing (a service, or a queue's alarm actions) needs
// spec.allowedPublisherNamespaces. A topic's own namespace always may do both.
import type { ConsumerQueue, EcommerceService, EventTopic } from '../../crds/index.ts';
import { isTrue } from '../../runtime/conditions.ts';

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** A reference as a spec writes it: the namespace may be left out. */
export interface Reference {
  name: string;
  namespace?: string | undefined;
}

/** What a referrer does with a topic; each use has its own consent list. */
export type TopicUse = 'subscribe' | 'publish';

export const CONSENT_FIELD: Record<TopicUse, 'allowedConsumerNamespaces' | 'allowedPublisherNamespaces'> = {
  subscribe: 'allowedConsumerNamespaces',
  publish: 'allowedPublisherNamespaces',
};

/** The canonical key of a reference made from namespace `from`. */
export function keyOf(ref: Reference, from: string): ObjectKey {
  return { namespace: ref.namespace ?? from, name: ref.name };
}

export const sameKey = (a: ObjectKey, b: ObjectKey): boolean =>
  a.namespace === b.namespace && a.name === b.name;

export const describeKey = (kind: string, key: ObjectKey): string => `${kind} ${key.namespace}/${key.name}`;

/**
 * Indexes of the entries whose reference repeats an earlier entry's (after canonicalisation).
 * Admission refuses such lists; the controllers act on the first entry only, should one get past.
 */
export function repeatedReferences(refs: readonly Reference[], from: string): number[] {
  const seen: ObjectKey[] = [];
  const repeated: number[] = [];
  refs.forEach((ref, index) => {
    const key = keyOf(ref, from);
    if (seen.some((s) => sameKey(s, key))) repeated.push(index);
    else seen.push(key);
  });
  return repeated;
}

/** Whether `topic` lets objects of `namespace` use it for `use`. */
export function consents(topic: EventTopic, use: TopicUse, namespace: string): boolean {
  if (topic.metadata?.namespace === namespace) return true;
  const allowed: readonly string[] = topic.spec[CONSENT_FIELD[use]] ?? [];
  return allowed.includes('*') || allowed.includes(namespace);
}

export type TopicLookup = (namespace: string, name: string) => EventTopic | undefined;

/**
 * A topic reference resolved against the cache:
 * - `ready`: the topic consents, is fit for the use and has an ARN (`exists`) and is Ready;
 * - `waiting`: the topic is absent (TopicNotFound) or has no ARN yet (TopicNotReady): a condition,
 *   not an error; the topic's own events wake the referrer;
 * - `refused`: the topic does not consent (TopicNotAllowed) or is unfit (`unfit` says why).
 * A refused reference grants nothing: no subscription, no policy statement, no injected ARN.
 */
export type TopicResolution =
  | { key: ObjectKey; state: 'ready'; topic: EventTopic; topicArn: string; topicReady: boolean }
  | { key: ObjectKey; state: 'waiting' | 'refused'; reason: string; message: string };

export function resolveTopic(
  ref: Reference,
  from: string,
  use: TopicUse,
  lookup: TopicLookup,
  unfit: (topic: EventTopic, text: string) => { reason: string; message: string } | undefined = () =>
    undefined,
): TopicResolution {
  const key = keyOf(ref, from);
  const text = describeKey('EventTopic', key);
  const topic = lookup(key.namespace, key.name);
  if (!topic) return { key, state: 'waiting', reason: 'TopicNotFound', message: `${text} does not exist` };
  if (!consents(topic, use, from)) {
    return {
      key,
      state: 'refused',
      reason: 'TopicNotAllowed',
      message: `${text} does not list namespace ${from} in spec.${CONSENT_FIELD[use]}, so it may not ${use === 'subscribe' ? 'be subscribed to' : 'be published to'} from there`,
    };
  }
  const problem = unfit(topic, text);
  if (problem) return { key, state: 'refused', ...problem };
  const topicArn = topic.status?.topicArn;
  if (!topicArn)
    return { key, state: 'waiting', reason: 'TopicNotReady', message: `${text} has no SNS topic yet` };
  return { key, state: 'ready', topic, topicArn, topicReady: isTrue(topic.status?.conditions, 'Ready') };
}

/** The EventTopic, if any, whose SNS topic has this ARN (from the cache). */
export type TopicByArn = (arn: string) => EventTopic | undefined;

/**
 * A topic named by ARN. The ARN of a topic an EventTopic manages is that EventTopic, with its
 * consent rules: naming it by ARN is no way around them. Any other ARN is `external` — another
 * account's topic or one made outside the operator, not an object of this cluster — and no consent
 * applies: its owner's topic policy decides in AWS.
 */
export function resolveTopicArn(
  arn: string,
  from: string,
  use: TopicUse,
  lookup: TopicLookup,
  byArn: TopicByArn,
  unfit?: (topic: EventTopic, text: string) => { reason: string; message: string } | undefined,
): { state: 'external'; topicArn: string } | TopicResolution {
  const managed = byArn(arn);
  if (!managed) return { state: 'external', topicArn: arn };
  const key = { namespace: managed.metadata?.namespace ?? '', name: managed.metadata?.name ?? '' };
  return resolveTopic(key, from, use, lookup, unfit);
}

/** Every topic key a ConsumerQueue names (subscriptions and its alarms' topic), canonical. */
export function topicKeysOfQueue(cq: ConsumerQueue): ObjectKey[] {
  const from = cq.metadata?.namespace ?? '';
  const refs = [...(cq.spec.subscriptions ?? []).map((s) => s.topicRef), cq.spec.alarms?.topicRef];
  // An entry naming its topic by ARN has no key here: the resync looks at it again.
  return refs.filter((r): r is Reference => r !== undefined).map((r) => keyOf(r, from));
}

/** Every topic key an EcommerceService publishes to, canonical. */
export function topicKeysOfService(svc: EcommerceService): ObjectKey[] {
  const from = svc.metadata?.namespace ?? '';
  return (svc.spec.publishes ?? []).map((p) => keyOf(p.topicRef, from));
}

/** The key of the queue an EcommerceService consumes, if any: always in its own namespace. */
export function queueKeysOfService(svc: EcommerceService): ObjectKey[] {
  const ref = svc.spec.consumes?.queueRef;
  return ref ? [{ namespace: svc.metadata?.namespace ?? '', name: ref.name }] : [];
}

/**
 * The informer indexes built from the rules above, so "who names this object" is a lookup: a
 * topic's or queue's event finds its referrers without scanning a cache. Values are namespace/name.
 */
export const REFERENCE_INDEXES = {
  /** ConsumerQueues by the topics they name; EcommerceServices by the topics they publish to. */
  topics: 'references/topics',
  /** EcommerceServices by the queue they consume. */
  queues: 'references/queues',
  /** ConsumerQueues by the topic ARNs their subscriptions name. */
  topicArns: 'references/topic-arns',
} as const;

/** EventTopics by the ARN of their SNS topic, so a subscription by ARN finds its EventTopic. */
export const TOPIC_ARN_INDEX = 'identity/topic-arn';

/** The topic ARNs a ConsumerQueue's subscriptions name directly. */
export function topicArnsOfQueue(cq: ConsumerQueue): string[] {
  return (cq.spec.subscriptions ?? []).flatMap((s) => (s.topicArn ? [s.topicArn] : []));
}

/** The value an index files a key under. */
export const indexValue = (key: ObjectKey): string => `${key.namespace}/${key.name}`;
