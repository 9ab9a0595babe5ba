// Pure: what to do about each subscription entry of a ConsumerQueue, given the EventTopics as the
// cache holds them and the subscriptions of this queue that AWS shows (never the ones status
// names: status only says which topics to look at).
import { canonicalJson, type Attributes } from '../../aws/attributes.ts';
import type { ConsumerQueue, ConsumerQueueStatus, SubscriptionState } from '../../crds/consumer-queue.ts';
import {
  describeKey,
  repeatedReferences,
  resolveTopic,
  sameKey,
  type ObjectKey,
  type TopicLookup,
} from '../shared/references.ts';

type Entry = NonNullable<ConsumerQueue['spec']['subscriptions']>[number];
export type RecordedSubscription = NonNullable<ConsumerQueueStatus['subscriptions']>[number];

/** A subscription of this queue as AWS shows it: protocol sqs, endpoint this queue's ARN. */
export interface FoundSubscription {
  arn: string;
  topicArn: string;
  attributes: Readonly<Record<string, string>>;
}

/** The subscription attributes a spec entry asks for, as SNS stores them. */
export function subscriptionAttributes(entry: Entry, redrive: string | undefined): Attributes {
  const attributes: Attributes = { RawMessageDelivery: String(entry.rawMessageDelivery) };
  if (entry.filterPolicy && Object.keys(entry.filterPolicy).length > 0) {
    attributes['FilterPolicy'] = canonicalJson(entry.filterPolicy);
    attributes['FilterPolicyScope'] = entry.filterPolicyScope;
  }
  if (redrive) attributes['RedrivePolicy'] = redrive;
  return attributes;
}

/** SNS FIFO topics (and their ARNs) end in .fifo. */
export const isFifoTopicArn = (arn: string): boolean => arn.endsWith('.fifo');

/**
 * Whether a subscription to `topicArn` can have the queue's DLQ as its SNS dead-letter queue: SNS
 * takes a FIFO queue for a FIFO topic's subscriptions and a standard queue for a standard topic's,
 * and the DLQ has the queue's type. So a standard queue subscribed to a FIFO topic gets none.
 */
export const redriveFits = (topicArn: string, queueFifo: boolean): boolean =>
  isFifoTopicArn(topicArn) === queueFifo;

export interface RedriveSettings {
  /** The DLQ's ARN when the queue has a DLQ and spec.deadLetter.snsRedrive is on. */
  deadLetterArn: string | undefined;
  queueFifo: boolean;
}

/** The RedrivePolicy a subscription to `topicArn` should have, or undefined for none. */
export function redrivePolicyFor(topicArn: string, settings: RedriveSettings): string | undefined {
  if (!settings.deadLetterArn || !redriveFits(topicArn, settings.queueFifo)) return undefined;
  return canonicalJson({ deadLetterTargetArn: settings.deadLetterArn });
}

/** What the reconcile does about one spec entry. */
export type EntryPlan =
  | {
      index: number;
      key: ObjectKey;
      action: 'subscribe';
      topicArn: string;
      attributes: Attributes;
      /** The subscription to keep and bring in line; absent: Subscribe. */
      current: FoundSubscription | undefined;
      delta: Attributes;
      /** Further subscriptions of this queue to the same topic: they would deliver twice. */
      duplicates: FoundSubscription[];
      /** Subscriptions to an older ARN of the same EventTopic: removed once the new one exists. */
      superseded: FoundSubscription[];
      /** Why the subscription has no redrive policy, when it has none although the spec wants one. */
      noRedrive?: string;
    }
  | {
      index: number;
      key: ObjectKey;
      action: 'hold';
      state: 'Waiting' | 'TopicGone';
      reason: string;
      message: string;
      /** Subscriptions kept while the entry waits: the topic still delivers through them. */
      kept: FoundSubscription[];
    }
  | { index: number; key: ObjectKey; action: 'refuse'; reason: string; message: string };

export interface SubscriptionsPlan {
  entries: EntryPlan[];
  /** Subscriptions of this queue no entry wants: unsubscribed, then dropped from the policy. */
  unwanted: FoundSubscription[];
}

const EMPTY_FILTER = '{}';

/** Differences SNS cares about; an absent filter or redrive policy equals an empty one. */
export function subscriptionDelta(wanted: Attributes, actual: Readonly<Record<string, string>>): Attributes {
  const delta: Attributes = {};
  const filter = (value: string | undefined) =>
    value === undefined || value === '' ? EMPTY_FILTER : canonicalJson(value);
  if (filter(wanted['FilterPolicy']) !== filter(actual['FilterPolicy'])) {
    // SNS reads a filter policy against the scope it has: the scope goes first.
    if (wanted['FilterPolicyScope']) delta['FilterPolicyScope'] = wanted['FilterPolicyScope'];
    delta['FilterPolicy'] = filter(wanted['FilterPolicy']);
  }
  if (
    wanted['FilterPolicyScope'] &&
    wanted['FilterPolicyScope'] !== (actual['FilterPolicyScope'] ?? 'MessageAttributes')
  ) {
    delta['FilterPolicyScope'] = wanted['FilterPolicyScope'];
  }
  const raw = (value: string | undefined) => (value ?? 'false').toLowerCase();
  if (raw(wanted['RawMessageDelivery']) !== raw(actual['RawMessageDelivery'])) {
    delta['RawMessageDelivery'] = raw(wanted['RawMessageDelivery']);
  }
  const redrive = (value: string | undefined) =>
    value === undefined || value === '' ? '' : canonicalJson(value);
  if (redrive(wanted['RedrivePolicy']) !== redrive(actual['RedrivePolicy'])) {
    delta['RedrivePolicy'] = redrive(wanted['RedrivePolicy']);
  }
  return delta;
}

/** The topic ARNs status recorded for `key` (the current one and any the entry moved away from). */
const recordedArns = (recorded: readonly RecordedSubscription[], key: ObjectKey): string[] =>
  recorded.filter((r) => sameKey(r.topicRef, key) && r.topicArn).map((r) => r.topicArn as string);

export interface SubscriptionInputs {
  cq: ConsumerQueue;
  lookup: TopicLookup;
  redrive: RedriveSettings;
  /** Subscriptions of this queue that AWS shows, on every topic of interest. */
  found: readonly FoundSubscription[];
}

/**
 * Each entry resolved (consent to subscribe, FIFO fit, one action per canonical topic) and matched
 * with what AWS shows. An entry waiting for its topic keeps the subscriptions it had on the ARNs
 * status recorded for it: SNS may still deliver through them (a topic deleted with Retain).
 */
export function planSubscriptionEntries(input: SubscriptionInputs): SubscriptionsPlan {
  const { cq, lookup, redrive, found } = input;
  const from = cq.metadata?.namespace ?? '';
  const specEntries = cq.spec.subscriptions ?? [];
  const recorded = cq.status?.subscriptions ?? [];
  const repeated = new Set(
    repeatedReferences(
      specEntries.map((e) => e.topicRef),
      from,
    ),
  );
  const claimed = new Set<string>();
  const onTopic = (arns: readonly string[]) => found.filter((f) => arns.includes(f.topicArn));

  const entries = specEntries.map((entry, index): EntryPlan => {
    const resolved = resolveTopic(entry.topicRef, from, 'subscribe', lookup, (topic, text) =>
      // SNS FIFO topics deliver to FIFO and standard queues; standard topics only to standard queues.
      cq.spec.fifo && !topic.spec.fifo
        ? {
            reason: 'FifoMismatch',
            message: `${text} is a standard topic, which SNS does not deliver to FIFO queues; subscribe a standard ConsumerQueue or use a FIFO topic`,
          }
        : undefined,
    );
    const { key } = resolved;
    if (repeated.has(index)) {
      return {
        index,
        key,
        action: 'refuse',
        reason: 'DuplicateTopic',
        message: `spec.subscriptions[${index}] names ${describeKey('EventTopic', key)} again; only the first entry for a topic is acted on`,
      };
    }
    if (resolved.state === 'refused')
      return { index, key, action: 'refuse', reason: resolved.reason, message: resolved.message };
    const previous = recordedArns(recorded, key);
    if (resolved.state === 'ready' && resolved.topicReady) {
      const topicArn = resolved.topicArn;
      const policy = redrivePolicyFor(topicArn, redrive);
      const attributes = subscriptionAttributes(entry, policy);
      const [current, ...duplicates] = onTopic([topicArn]);
      const superseded = onTopic(previous.filter((arn) => arn !== topicArn));
      for (const s of [current, ...duplicates, ...superseded]) if (s) claimed.add(s.arn);
      return {
        index,
        key,
        action: 'subscribe',
        topicArn,
        attributes,
        current,
        delta: current ? subscriptionDelta(attributes, current.attributes) : {},
        duplicates,
        superseded,
        ...(redrive.deadLetterArn && !policy
          ? {
              noRedrive: `no SNS redrive policy: ${describeKey('EventTopic', key)} is a FIFO topic, whose subscriptions take only a FIFO dead-letter queue, and this queue's is standard`,
            }
          : {}),
      };
    }
    // Waiting: keep what still delivers, on the ARNs recorded for this entry (and the one it has now).
    const arns = resolved.state === 'ready' ? [...previous, resolved.topicArn] : previous;
    const kept = onTopic(arns);
    for (const s of kept) claimed.add(s.arn);
    const gone = resolved.state === 'waiting' && resolved.reason === 'TopicNotFound' && kept.length > 0;
    const keptText = kept.map((k) => `${k.topicArn} (subscription ${k.arn})`).join(', ');
    if (gone) {
      return {
        index,
        key,
        action: 'hold',
        state: 'TopicGone',
        reason: 'TopicGone',
        message: `${resolved.message}, but SNS topic ${keptText} still delivers into this queue; its subscription and policy statement are kept until the entry is removed or the EventTopic has an ARN again`,
        kept,
      };
    }
    return {
      index,
      key,
      action: 'hold',
      state: 'Waiting',
      ...(resolved.state === 'ready'
        ? {
            reason: 'TopicNotReady',
            message: `${describeKey('EventTopic', key)} is not Ready yet${kept.length > 0 ? `; subscription ${keptText} is kept` : ''}`,
          }
        : { reason: resolved.reason, message: resolved.message }),
      kept,
    };
  });
  return { entries, unwanted: found.filter((f) => !claimed.has(f.arn)) };
}

/** The topics whose subscriptions into this queue are looked up in AWS: wanted and recorded ones. */
export function topicsOfInterest(cq: ConsumerQueue, lookup: TopicLookup): string[] {
  const from = cq.metadata?.namespace ?? '';
  const resolved = (cq.spec.subscriptions ?? []).flatMap((e) => {
    const r = resolveTopic(e.topicRef, from, 'subscribe', lookup);
    return r.state === 'ready' ? [r.topicArn] : [];
  });
  const recorded = (cq.status?.subscriptions ?? []).flatMap((s) => (s.topicArn ? [s.topicArn] : []));
  return [...new Set([...resolved, ...recorded])].sort();
}

/**
 * The topics SNS may deliver from: every topic an entry subscribes to, and every topic AWS shows
 * still has a subscription into this queue (a live subscription is never cut out of the policy;
 * it leaves the policy only once it is unsubscribed).
 */
export function deliveringTopics(plan: SubscriptionsPlan, remaining: readonly FoundSubscription[]): string[] {
  const wanted = plan.entries.flatMap((e) => (e.action === 'subscribe' ? [e.topicArn] : []));
  return [...new Set([...wanted, ...remaining.map((r) => r.topicArn)])].sort();
}

/** The result of acting on one entry, for status. */
export interface EntryOutcome {
  state: SubscriptionState;
  reason: string;
  message: string;
  topicArn?: string | undefined;
  subscriptionArn?: string | undefined;
}

/** status.subscriptions: one per spec entry, then the leftovers still to remove. */
export function subscriptionStatus(
  plan: SubscriptionsPlan,
  outcomes: ReadonlyMap<number, EntryOutcome>,
  leftovers: readonly { key: ObjectKey | undefined; sub: FoundSubscription; message: string }[],
): RecordedSubscription[] {
  const entries = plan.entries.map((e): RecordedSubscription => {
    const outcome = outcomes.get(e.index);
    const base = { topicRef: e.key };
    if (outcome) {
      return {
        ...base,
        state: outcome.state,
        reason: outcome.reason,
        message: outcome.message,
        ...(outcome.topicArn ? { topicArn: outcome.topicArn } : {}),
        ...(outcome.subscriptionArn ? { subscriptionArn: outcome.subscriptionArn } : {}),
      };
    }
    if (e.action === 'hold') {
      const [first] = e.kept;
      return {
        ...base,
        state: e.state,
        reason: e.reason,
        message: e.message,
        ...(first ? { topicArn: first.topicArn, subscriptionArn: first.arn } : {}),
      };
    }
    if (e.action === 'refuse') return { ...base, state: 'Refused', reason: e.reason, message: e.message };
    return { ...base, state: 'Waiting', reason: 'QueueNotReady', message: 'The queue is not in place yet' };
  });
  const extra = leftovers.map((l): RecordedSubscription => ({
    topicRef: l.key ?? { namespace: '', name: '' },
    state: 'Removing',
    reason: 'Unwanted',
    message: l.message,
    topicArn: l.sub.topicArn,
    subscriptionArn: l.sub.arn,
  }));
  return [...entries, ...extra];
}

/** The Subscribed condition: True when every entry is Active. */
export function subscribedCondition(status: readonly RecordedSubscription[], entryCount: number) {
  const entries = status.slice(0, entryCount);
  const notActive = entries.filter((e) => e.state !== 'Active');
  const [first] = notActive;
  if (!first) {
    return {
      status: 'True' as const,
      reason: 'Subscribed',
      message: `Every subscription entry (${entryCount}) is subscribed`,
    };
  }
  return {
    status: 'False' as const,
    reason: first.reason ?? first.state ?? 'NotSubscribed',
    message: notActive
      .map(
        (e) => `${e.topicRef.namespace}/${e.topicRef.name}: ${e.state}${e.message ? ` (${e.message})` : ''}`,
      )
      .join('; '),
  };
}
