// Pure: what to do about each subscription entry of a ConsumerQueue, given the EventTopics as the
// cache holds them and the subscriptions of this queue that AWS shows (never the ones status
// names: status only says which topics to look at).
import { canonicalJson, type Attributes } from '../../aws/attributes.ts';
import type { ConsumerQueue, ConsumerQueueStatus, SubscriptionState } from '../../crds/consumer-queue.ts';
import {
  describeKey,
  keyOf,
  resolveTopic,
  resolveTopicArn,
  sameKey,
  type ObjectKey,
  type TopicByArn,
  type TopicLookup,
  type TopicResolution,
} from '../shared/references.ts';

type Entry = NonNullable<ConsumerQueue['spec']['subscriptions']>[number];
export type RecordedSubscription = NonNullable<ConsumerQueueStatus['subscriptions']>[number];

/** A subscription of this queue as AWS shows it: protocol sqs, endpoint this queue's ARN. */
export interface FoundSubscription {
  arn: string;
  topicArn: string;
  attributes: Readonly<Record<string, string>>;
  /**
   * SNS holds it until the topic's owner confirms it (a topic of another account). A pending
   * subscription listed by ListSubscriptionsByTopic has no ARN yet: `arn` is then empty.
   */
  pending?: boolean;
}

/** What SNS shows in place of a subscription's ARN while it waits for confirmation. */
const PENDING_ARNS = new Set(['pendingconfirmation', 'pending confirmation']);

/**
 * Whether SNS shows a subscription as waiting for confirmation: ListSubscriptionsByTopic and
 * Subscribe (without ReturnSubscriptionArn) give `PendingConfirmation` or `pending confirmation`
 * for its ARN; GetSubscriptionAttributes gives PendingConfirmation "true".
 */
export function isPendingConfirmation(
  arn: string,
  attributes: Readonly<Record<string, string>> = {},
): boolean {
  return PENDING_ARNS.has(arn.trim().toLowerCase()) || attributes['PendingConfirmation'] === 'true';
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
/**
 * An entry's topic: an EventTopic (`key`), or an SNS topic named by ARN that no EventTopic manages
 * (`key` undefined; `label` names it either way).
 */
export type EntryPlan = EntryPlanBody & { label: string };

type EntryPlanBody =
  | {
      index: number;
      key: ObjectKey | undefined;
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
      key: ObjectKey | undefined;
      action: 'hold';
      state: 'Waiting' | 'TopicGone';
      reason: string;
      message: string;
      /** Subscriptions kept while the entry waits: the topic still delivers through them. */
      kept: FoundSubscription[];
    }
  | { index: number; key: ObjectKey | undefined; action: 'refuse'; reason: string; message: string };

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
  recorded
    .filter((r) => r.topicRef && sameKey(r.topicRef, key) && r.topicArn)
    .map((r) => r.topicArn as string);

export interface SubscriptionInputs {
  cq: ConsumerQueue;
  lookup: TopicLookup;
  redrive: RedriveSettings;
  /** Subscriptions of this queue that AWS shows, on every topic of interest. */
  found: readonly FoundSubscription[];
  /** The EventTopic managing an SNS topic, by ARN: an entry's topicArn may name one. */
  byArn?: TopicByArn;
}

/** The canonical target of an entry, to tell entries naming one topic twice apart. */
const targetOf = (entry: Entry, from: string): string =>
  entry.topicRef
    ? `${keyOf(entry.topicRef, from).namespace}/${entry.topicRef.name}`
    : `arn ${entry.topicArn}`;

const noTopicByArn: TopicByArn = () => undefined;

/** An entry's topic resolved: an EventTopic by reference or by ARN, or a topic outside the cluster. */
function resolveEntry(
  entry: Entry,
  from: string,
  lookup: TopicLookup,
  byArn: TopicByArn,
  queueFifo: boolean,
): { state: 'external'; topicArn: string } | TopicResolution {
  // SNS FIFO topics deliver to FIFO and standard queues; standard topics only to standard queues.
  const unfit = (topic: { spec: { fifo: boolean } }, text: string) =>
    queueFifo && !topic.spec.fifo
      ? {
          reason: 'FifoMismatch',
          message: `${text} is a standard topic, which SNS does not deliver to FIFO queues; subscribe a standard ConsumerQueue or use a FIFO topic`,
        }
      : undefined;
  if (entry.topicRef) return resolveTopic(entry.topicRef, from, 'subscribe', lookup, unfit);
  return resolveTopicArn(entry.topicArn ?? '', from, 'subscribe', lookup, byArn, unfit);
}

/**
 * Each entry resolved (consent to subscribe, FIFO fit, one action per canonical topic) and matched
 * with what AWS shows. An entry waiting for its topic keeps the subscriptions it had on the ARNs
 * status recorded for it: SNS may still deliver through them (a topic deleted with Retain).
 */
export function planSubscriptionEntries(input: SubscriptionInputs): SubscriptionsPlan {
  const { cq, lookup, redrive, found } = input;
  const byArn = input.byArn ?? noTopicByArn;
  const from = cq.metadata?.namespace ?? '';
  const specEntries = cq.spec.subscriptions ?? [];
  const recorded = cq.status?.subscriptions ?? [];
  const targets = specEntries.map((e) => targetOf(e, from));
  const claimed = new Set<string>();
  // The SNS topic each acting entry subscribes to: a second entry reaching it (by ARN and by
  // reference) would share the one subscription, so it is refused like a repeated reference.
  const topicOwner = new Map<string, number>();
  const onTopic = (arns: readonly string[]) => found.filter((f) => arns.includes(f.topicArn));

  const entries = specEntries.map((entry, index): EntryPlan => {
    const resolved = resolveEntry(entry, from, lookup, byArn, cq.spec.fifo);
    const key = resolved.state === 'external' ? undefined : resolved.key;
    const label = key ? describeKey('EventTopic', key) : `SNS topic ${entry.topicArn ?? ''}`;
    const refuseAsDuplicate = (): EntryPlan => ({
      index,
      key,
      label,
      action: 'refuse',
      reason: 'DuplicateTopic',
      message: `spec.subscriptions[${index}] names ${label} again; only the first entry for a topic is acted on`,
    });
    if (targets.indexOf(targets[index] ?? '') !== index) return refuseAsDuplicate();
    if (resolved.state === 'external') {
      const topicArn = resolved.topicArn;
      if (cq.spec.fifo && !isFifoTopicArn(topicArn)) {
        return {
          index,
          key,
          label,
          action: 'refuse',
          reason: 'FifoMismatch',
          message: `${label} is a standard topic (its name does not end in .fifo), which SNS does not deliver to FIFO queues`,
        };
      }
      if (topicOwner.has(topicArn)) return refuseAsDuplicate();
      topicOwner.set(topicArn, index);
      return { ...subscribeTo(topicArn, entry, index, key, []), label };
    }
    if (resolved.state === 'refused')
      return { index, key, label, action: 'refuse', reason: resolved.reason, message: resolved.message };
    const previous = recordedArns(recorded, resolved.key);
    if (resolved.state === 'ready' && resolved.topicReady) {
      if (topicOwner.has(resolved.topicArn)) return refuseAsDuplicate();
      topicOwner.set(resolved.topicArn, index);
      return { ...subscribeTo(resolved.topicArn, entry, index, key, previous), label };
    }
    // Waiting: keep what still delivers, on the ARNs recorded for this entry (and the one it has now).
    const arns = resolved.state === 'ready' ? [...previous, resolved.topicArn] : previous;
    const kept = onTopic(arns);
    for (const s of kept) claimed.add(s.arn);
    const heldKey = resolved.key;
    const gone = resolved.state === 'waiting' && resolved.reason === 'TopicNotFound' && kept.length > 0;
    const keptText = kept.map((k) => `${k.topicArn} (subscription ${k.arn})`).join(', ');
    if (gone) {
      return {
        index,
        key,
        label,
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
      label,
      action: 'hold',
      state: 'Waiting',
      ...(resolved.state === 'ready'
        ? {
            reason: 'TopicNotReady',
            message: `${describeKey('EventTopic', heldKey)} is not Ready yet${kept.length > 0 ? `; subscription ${keptText} is kept` : ''}`,
          }
        : { reason: resolved.reason, message: resolved.message }),
      kept,
    };
  });
  // A pending subscription without an ARN cannot be unsubscribed; SNS drops it unconfirmed.
  return { entries, unwanted: found.filter((f) => !claimed.has(f.arn) && f.arn !== '') };

  /** The plan for an entry whose topic is known and ready: subscribe, or keep what exists. */
  function subscribeTo(
    topicArn: string,
    entry: Entry,
    index: number,
    key: ObjectKey | undefined,
    previous: readonly string[],
  ): EntryPlanBody {
    const policy = redrivePolicyFor(topicArn, redrive);
    const attributes = subscriptionAttributes(entry, policy);
    const [current, ...duplicates] = onTopic([topicArn]);
    const superseded = onTopic(previous.filter((arn) => arn !== topicArn));
    for (const s of [current, ...duplicates, ...superseded]) if (s) claimed.add(s.arn);
    const label = key ? describeKey('EventTopic', key) : `SNS topic ${topicArn}`;
    return {
      index,
      key,
      action: 'subscribe',
      topicArn,
      attributes,
      current,
      delta: current && !current.pending ? subscriptionDelta(attributes, current.attributes) : {},
      // A pending subscription has no ARN to remove a duplicate by.
      duplicates: duplicates.filter((d) => d.arn !== ''),
      superseded,
      ...(redrive.deadLetterArn && !policy
        ? {
            noRedrive: `no SNS redrive policy: ${label} is a FIFO topic, whose subscriptions take only a FIFO dead-letter queue, and this queue's is standard`,
          }
        : {}),
    };
  }
}

/** The topics whose subscriptions into this queue are looked up in AWS: wanted and recorded ones. */
export function topicsOfInterest(
  cq: ConsumerQueue,
  lookup: TopicLookup,
  byArn: TopicByArn = noTopicByArn,
): string[] {
  const from = cq.metadata?.namespace ?? '';
  const resolved = (cq.spec.subscriptions ?? []).flatMap((e) => {
    // An entry by ARN: its topic is always of interest (a managed one only with consent).
    if (!e.topicRef) {
      const r = resolveTopicArn(e.topicArn ?? '', from, 'subscribe', lookup, byArn);
      return r.state === 'external' || r.state === 'ready' ? [r.topicArn] : [];
    }
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
    const base = e.key ? { topicRef: e.key } : {};
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
    ...(l.key ? { topicRef: l.key } : {}),
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
      .map((e) => `${entryName(e)}: ${e.state}${e.message ? ` (${e.message})` : ''}`)
      .join('; '),
  };
}

/** How a status entry names its topic: namespace/name of the EventTopic, else the topic's ARN. */
export const entryName = (e: RecordedSubscription): string =>
  e.topicRef ? `${e.topicRef.namespace}/${e.topicRef.name}` : (e.topicArn ?? 'unknown topic');
