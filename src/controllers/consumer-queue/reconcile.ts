// I/O edge of the ConsumerQueue controller. The reconcile is a few independent parts — the
// dead-letter queue, the queue (attributes and policy), the subscriptions (each entry on its own)
// and the alarms — each with its own read, pure plan, act and report. A part that fails is
// reported on its own and the others still run; status is written once, with every part's report.
import { isNameTaken, isNotFound as isAwsNotFound } from '../../aws/errors.ts';
import { queueArn } from '../../aws/account.ts';
import type { AccountIdentity } from '../../aws/account.ts';
import { attributeString, canonicalJson } from '../../aws/attributes.ts';
import type { AlarmGateway } from '../../aws/cloudwatch.ts';
import { keyUsableBySns, type KeyCheck, type KeyGateway } from '../../aws/kms.ts';
import {
  adoptable,
  OWNERSHIP_TAG_KEYS,
  ownershipOf,
  tagChanges,
  type TagsClaim,
} from '../../aws/ownership.ts';
import {
  ALWAYS_REPORTED_ATTRIBUTES,
  endpointMayLack,
  type QueueGateway,
  type QueueState,
} from '../../aws/queues.ts';
import type { MessageMoveGateway } from '../../aws/message-moves.ts';
import type { SubscriptionState, TopicGateway } from '../../aws/topics.ts';
import type { ConsumerQueue, ConsumerQueueStatus, RedriveStatus } from '../../crds/index.ts';
import {
  done,
  requeueAfter,
  terminal,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
} from '../../runtime/controller.ts';
import { removeCondition } from '../../runtime/conditions.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { withFinalizer, type FinalizerClient } from '../../runtime/finalizers.ts';
import {
  failureOf,
  nextStatus,
  settleFailure,
  type ConditionValue,
  type Failure,
} from '../shared/outcome.ts';
import { changedFields, isNoop, ownerOfObject, planResource, type DesiredResource } from '../shared/plan.ts';
import type { ObjectKey, TopicByArn, TopicLookup } from '../shared/references.ts';
import { FINALIZER, type OperatorSettings } from '../shared/settings.ts';
import { sameStatus, type WrittenStatuses } from '../shared/written-status.ts';
import type { TagChecks } from '../shared/tag-checks.ts';
import {
  CONNECTION_CONDITION,
  syncConnectionDetails,
  type ConnectionData,
  type ConnectionServices,
} from '../shared/connection-details.ts';
import {
  driftOf,
  isObserveOnly,
  observedConditions,
  pauseGate,
  wantsAdoption,
} from '../shared/management.ts';
import {
  ALARMS_CONDITION,
  deleteQueueAlarms,
  releaseQueueAlarms,
  syncAlarms,
  type AlarmOutcome,
} from './alarm-sync.ts';
import { REDRIVE_RECHECK_MS, syncRedrive, type RedriveOutcome } from './redrive.ts';
import { deadLetterPolicy, desiredQueues, queueNames, queuePolicy, type QueueNames } from './desired.ts';
import { topicOnItsWay } from './topics-on-their-way.ts';
import {
  deliveringTopics,
  entryName,
  isPendingConfirmation,
  planSubscriptionEntries,
  redriveFits,
  subscribedCondition,
  subscriptionStatus,
  topicsOfInterest,
  type EntryOutcome,
  type EntryPlan,
  type FoundSubscription,
  type RecordedSubscription,
  type SubscriptionsPlan,
} from './subscriptions.ts';

/** Set to "true" to let the operator delete a queue (or its DLQ) that still holds messages. */
export const ALLOW_DELETE_WITH_MESSAGES = 'pubsub.ecommerce.io/allow-delete-with-messages';
/**
 * How often a queue waiting for a topic looks again, should no topic event wake it first: the
 * topic's events wake it (through the topic → queues index), so this is only a slow safety net,
 * not a full AWS re-read every few seconds.
 */
export const WAITING_RECHECK_MS = 300_000;
/** How often a deletion waiting for the queues to drain looks again. */
export const BLOCKED_DELETE_RECHECK_MS = 15_000;
/** The condition that says whether every subscription entry is in place. */
export const SUBSCRIBED_CONDITION = 'Subscribed';
/** The condition that says whether SNS may use the queue's customer-managed KMS key. */
export const KEY_CONDITION = 'EncryptionKeyUsable';

export interface ConsumerQueueServices extends ConnectionServices {
  queues: QueueGateway;
  topics: TopicGateway;
  /** CloudWatch alarms of spec.alarms. */
  alarms: AlarmGateway;
  /** KMS, to read the key policy of a queue encrypted with a customer-managed key. */
  keys: KeyGateway;
  /** SQS message move tasks, for dead-letter redrives. */
  moves: MessageMoveGateway;
  account: AccountIdentity;
  lookupTopic: TopicLookup;
  /** The EventTopic whose SNS topic has an ARN, for entries naming a topic by ARN. */
  topicByArn?: TopicByArn;
  kube: FinalizerClient & ConnectionServices['kube'];
  status: { apply(obj: ConsumerQueue, status: ConsumerQueueStatus): Promise<unknown> };
  recorder: EventRecorder;
  settings: OperatorSettings;
  /** The status last written per queue, newer than the cache until its watch event arrives. */
  written: WrittenStatuses<ConsumerQueueStatus>;
  /** When a resync may take the queues' policies as proof of ownership and not read their tags. */
  tagChecks?: TagChecks;
}

type Ctx = ReconcileContext & ConsumerQueueServices;

/** A failure already written to status by the reconcile; only the runtime's next step is left. */
class ReportedFailure extends Error {
  override readonly cause: unknown;
  readonly failure: Failure;
  constructor(cause: unknown, failure: Failure) {
    super(failure.message);
    this.cause = cause;
    this.failure = failure;
  }
}

export const reconcileConsumerQueue: Reconciler<ConsumerQueue, ConsumerQueueServices> = async (req, ctx) => {
  if (!req.object) {
    ctx.written.forget({ namespace: req.namespace ?? '', name: req.name });
    ctx.tagChecks?.forget({ namespace: req.namespace ?? '', name: req.name });
    return done();
  }
  // Status as last written: what it records (topics to look at, tag keys applied) must not be lost
  // to a cache that has not seen the last write yet.
  let cq: ConsumerQueue = { ...req.object, status: ctx.written.current(req.object) };
  try {
    const paused = cq;
    // The gate builds on the newest status known (the cache may not hold the last write yet).
    const gate = await pauseGate(
      { ...cq, status: ctx.written.current(cq) },
      {
        recorder: ctx.recorder,
        writeStatus: (status: ConsumerQueueStatus) => applyStatus(ctx, paused, status),
      },
    );
    if (gate.paused) return done();
    cq = gate.object;
    return await withFinalizer(ctx.kube, cq, FINALIZER, {
      apply: (current) => applyQueue(current, ctx),
      cleanup: (current) => cleanupQueue(current, ctx),
    });
  } catch (error) {
    if (error instanceof ReportedFailure) {
      ctx.log.warn({ err: error.cause, reason: error.failure.reason }, 'reconcile failed');
      if (error.failure.retryAfterMs !== undefined) return requeueAfter(error.failure.retryAfterMs);
      throw error.cause;
    }
    return settleFailure(ctx, cq, error, failureOf(error), (problem) =>
      writeStatus(ctx, cq, { ...(cq.status?.queueUrl ? {} : { ready: problem }), synced: problem }),
    );
  }
};

/** How one part of the reconcile went. */
type PartResult<T> =
  { ok: true; value: T } | { ok: false; refused: string } | { ok: false; failure: Failure; error: unknown };

interface PartReport {
  part: string;
  result: PartResult<unknown>;
}

async function runPart<T>(
  ctx: Ctx,
  part: string,
  act: () => Promise<T | { refused: string }>,
): Promise<PartResult<T>> {
  try {
    const value = await act();
    if (value && typeof value === 'object' && 'refused' in value)
      return { ok: false, refused: value.refused };
    return { ok: true, value: value as T };
  } catch (error) {
    const failure = failureOf(error);
    ctx.log.warn({ err: error, part, reason: failure.reason }, 'part of the reconcile failed');
    return { ok: false, failure, error };
  }
}

/** Creates or updates one queue per its plan; returns its URL and ARN, or a refusal message. */
async function ensureQueue(
  ctx: Ctx,
  cq: ConsumerQueue,
  desired: DesiredResource,
  actual: QueueState | undefined,
): Promise<{ url: string; arn: string } | { refused: string }> {
  const plan = planResource(desired, actual, [], wantsAdoption(cq));
  if (plan.action === 'refuse') return { refused: plan.message };
  if (plan.action === 'update' && plan.adopted) {
    ctx.log.info({ queueUrl: actual?.url }, 'adopting SQS queue');
    ctx.recorder.event(
      cq,
      'Normal',
      'Adopted',
      `Adopted SQS queue ${desired.name}: it carried no ownership tags; it is tagged as this ConsumerQueue's and brought to the spec`,
    );
  }
  if (plan.action === 'create') return createQueue(ctx, desired);
  const current = actual as QueueState;
  // Tags the spec dropped go, but only those the operator applied: a tag set by hand stays.
  const tags = tagChanges(desired.tags, current.tags, cq.status?.managedTagKeys ?? []);
  const full = { ...plan, tags };
  if (!isNoop(full)) {
    if (Object.keys(full.attributes).length > 0) {
      // Some SQS-compatible endpoints (moto) drop a queue's Policy on any SetQueueAttributes that
      // omits it; sending it along costs nothing on AWS and keeps them from losing it.
      const policy = desired.attributes['Policy'];
      await ctx.queues.setQueueAttributes(
        current.url,
        typeof policy === 'string' ? { Policy: policy, ...full.attributes } : full.attributes,
      );
    }
    if (Object.keys(tags.set).length > 0) await ctx.queues.tagQueue(current.url, tags.set);
    if (tags.remove.length > 0) await ctx.queues.untagQueue(current.url, tags.remove);
    const changed = changedFields(full);
    ctx.log.info({ queueUrl: current.url, changed }, 'updated SQS queue');
    ctx.recorder.event(cq, 'Normal', 'Updated', `Updated SQS queue ${desired.name}: ${changed.join(', ')}`);
  }
  return { url: current.url, arn: current.arn };
}

/** Makes the queue with its attributes, policy and tags in one call (reported by announceMade). */
function createQueue(ctx: Ctx, desired: DesiredResource): Promise<{ url: string; arn: string }> {
  return ctx.queues.createQueue(desired.name, { ...desired.createOnly, ...desired.attributes }, desired.tags);
}

/** The URL of the queue of `part` if this reconcile made it (it was not there when read). */
const madeUrl = (part: PartResult<QueueReport> | undefined): string | undefined =>
  part?.ok && !part.value.state ? part.value.url : undefined;

/**
 * One log line and one Event for the queues this reconcile made: a queue and its DLQ made together
 * are one step.
 */
function announceMade(
  ctx: Ctx,
  cq: ConsumerQueue,
  names: { queue: string; deadLetter: string },
  queue: PartResult<QueueReport>,
  deadLetter: PartResult<QueueReport> | undefined,
): void {
  const urls = { queueUrl: madeUrl(queue), deadLetterQueueUrl: madeUrl(deadLetter) };
  const note =
    urls.queueUrl && urls.deadLetterQueueUrl
      ? `Created SQS queue ${names.queue} and its dead-letter queue ${names.deadLetter}`
      : urls.queueUrl
        ? `Created SQS queue ${names.queue}`
        : urls.deadLetterQueueUrl
          ? `Created SQS dead-letter queue ${names.deadLetter}`
          : undefined;
  if (!note) return;
  ctx.log.info(urls, urls.queueUrl ? 'created SQS queue' : 'created SQS dead-letter queue');
  ctx.recorder.event(cq, 'Normal', 'Created', note);
}

/**
 * The DLQ as ensureQueue leaves it. One this object has never recorded is created outright: its
 * policy's Id claims it for this object (policyId), so the create succeeds only for a new queue or
 * one this object made; another queue of the name refuses it and is read and judged like any.
 */
async function ensureDeadLetter(
  ctx: Ctx,
  cq: ConsumerQueue,
  desired: DesiredResource,
  claim: TagsClaim | undefined,
): Promise<QueueReport | { refused: string }> {
  const knownUrl = cq.status?.deadLetterQueueUrl;
  if (!knownUrl) {
    try {
      return { ...(await createQueue(ctx, desired)), state: undefined };
    } catch (error) {
      if (!isNameTaken(error)) throw error;
    }
  }
  return ensureAsRead(ctx, cq, desired, await ctx.queues.readQueue(desired.name, knownUrl, claim));
}

/** ensureQueue for a queue as it was read, reported with that reading. */
async function ensureAsRead(
  ctx: Ctx,
  cq: ConsumerQueue,
  desired: DesiredResource,
  actual: QueueState | undefined,
): Promise<QueueReport | { refused: string }> {
  const ensured = await ensureQueue(ctx, cq, await withoutUnsupported(ctx, desired, actual), actual);
  return 'refused' in ensured ? ensured : { ...ensured, state: actual };
}

/** Attributes the endpoint does not know at all are left out, so they cannot cause an update loop. */
async function withoutUnsupported(
  ctx: Ctx,
  desired: DesiredResource,
  actual: QueueState | undefined,
): Promise<DesiredResource> {
  if (!actual) return desired;
  const attributes = { ...desired.attributes };
  for (const [name, value] of Object.entries(desired.attributes)) {
    if (value === undefined || name in actual.attributes) continue;
    if (ALWAYS_REPORTED_ATTRIBUTES.has(name)) {
      delete attributes[name];
      continue;
    }
    const wanted = attributeString(name, value);
    // Empty is the same as absent: no difference to set, nothing to ask.
    if (wanted === '' || !endpointMayLack(name, wanted)) continue;
    if (!(await ctx.queues.supportsAttribute(actual.url, name))) delete attributes[name];
  }
  return { ...desired, attributes };
}

/**
 * The subscriptions that deliver into this queue, as AWS shows them: on each topic of interest,
 * those with protocol sqs and this queue's ARN as endpoint. A topic that is gone lists none.
 * SNS keeps at most one subscription per topic and endpoint, so one status recorded is read by its
 * ARN; the topic is listed only when it records none or that one is gone.
 */
async function findOurSubscriptions(
  ctx: Ctx,
  topicArns: readonly string[],
  endpoint: string,
  recorded: readonly RecordedSubscription[] = [],
): Promise<FoundSubscription[]> {
  const found: FoundSubscription[] = [];
  for (const topicArn of topicArns) {
    const known = recorded.find((r) => r.topicArn === topicArn)?.subscriptionArn;
    if (known && !isPendingConfirmation(known)) {
      const full = await ctx.topics.readSubscription(known);
      if (full && full.endpoint === endpoint && full.topicArn === topicArn) {
        found.push(foundSubscription(full, topicArn));
        continue;
      }
    }
    for (const summary of await ctx.topics.listSubscriptionsByTopic(topicArn)) {
      if (summary.protocol !== 'sqs' || summary.endpoint !== endpoint) continue;
      // Waiting for the topic owner's confirmation: listed without an ARN to read it by.
      if (isPendingConfirmation(summary.arn)) {
        found.push({ arn: '', topicArn: summary.topicArn || topicArn, attributes: {}, pending: true });
        continue;
      }
      const full = await ctx.topics.readSubscription(summary.arn);
      if (full && full.endpoint === endpoint) found.push(foundSubscription(full, topicArn));
    }
  }
  return found;
}

/** A subscription of this queue, as GetSubscriptionAttributes showed it, on `topicArn`. */
function foundSubscription(full: SubscriptionState, topicArn: string): FoundSubscription {
  return {
    arn: full.arn,
    topicArn: full.topicArn || topicArn,
    attributes: full.attributes,
    ...(isPendingConfirmation(full.arn, full.attributes) ? { pending: true } : {}),
  };
}

/**
 * Whether status has lost what it knew: the queue exists and is this object's, yet status records
 * no queue URL, so it cannot name the topics that delivered here (a wiped or restored status).
 * A new object has no queue yet, so it never pays for the account-wide search.
 */
function statusLost(cq: ConsumerQueue, queue: QueueState | undefined, clusterName: string): boolean {
  if (!queue || cq.status?.queueUrl) return false;
  return ownershipOf(queue.tags, ownerOfObject(cq, clusterName)) === 'ours';
}

interface QueueReport {
  url: string;
  arn: string;
  state: QueueState | undefined;
}

/** Policy sources for both queues; the DLQ admits only the topics whose redrive can name it. */
function policySources(cq: ConsumerQueue, topics: readonly string[]) {
  const redrive = cq.spec.deadLetter.enabled && cq.spec.deadLetter.snsRedrive;
  return {
    queue: topics,
    deadLetter: redrive ? topics.filter((t) => redriveFits(t, cq.spec.fifo)) : [],
  };
}

async function applyQueue(cq: ConsumerQueue, ctx: Ctx): Promise<ReconcileResult> {
  if (isObserveOnly(cq)) return observeQueue(cq, ctx);
  const awaited = topicOnItsWay(cq, ctx.lookupTopic, Date.now());
  if (awaited) {
    ctx.log.debug(
      { topic: `${awaited.namespace}/${awaited.name}` },
      'waiting for a topic being made before creating the queue',
    );
    return requeueAfter(awaited.remainingMs);
  }
  let names = queueNames(cq, ctx.settings);
  // Read: the queue, then the subscriptions that deliver into it, from AWS. The URL in status
  // spares a lookup; the claim, when the tags were checked lately, spares the tag reads.
  const claim = ctx.tagChecks?.claimFor(cq, ctx.settings.clusterName, cq.spec.tags, wantsAdoption(cq));
  const queueRead = await runPart(ctx, 'queue', () =>
    ctx.queues.readQueue(names.queue, cq.status?.queueUrl, claim),
  );
  const adopting = queueRead.ok ? adoptedDeadLetter(cq, queueRead.value) : undefined;
  if (adopting) names = { ...names, deadLetter: adopting };
  const account = await ctx.account.accountId();
  const arns = {
    queue: queueArn(ctx.settings.region, account, names.queue),
    deadLetter: queueArn(ctx.settings.region, account, names.deadLetter),
  };
  const reports: PartReport[] = [];
  const redriveOn = cq.spec.deadLetter.enabled && cq.spec.deadLetter.snsRedrive;

  const listed = await runPart(ctx, 'subscriptions', async () => {
    // A queue that does not exist and never did for this object (status has no URL) has no
    // subscription of ours: ours are made after the queue. Nothing to list.
    if (queueRead.ok && !queueRead.value && !cq.status?.queueUrl) return [];
    const topicArns = topicsOfInterest(cq, ctx.lookupTopic, ctx.topicByArn);
    if (queueRead.ok && statusLost(cq, queueRead.value, ctx.settings.clusterName)) {
      // Status does not say which topics ever delivered here: ask the whole account.
      for (const s of await ctx.topics.listSubscriptionsToQueue(arns.queue)) topicArns.push(s.topicArn);
    }
    return findOurSubscriptions(ctx, [...new Set(topicArns)].sort(), arns.queue, cq.status?.subscriptions);
  });
  const found = listed.ok ? listed.value : undefined;
  const plan = planSubscriptionEntries({
    cq,
    lookup: ctx.lookupTopic,
    redrive: { deadLetterArn: redriveOn ? arns.deadLetter : undefined, queueFifo: cq.spec.fifo },
    found: found ?? [],
    ...(ctx.topicByArn ? { byArn: ctx.topicByArn } : {}),
  });
  // Unknown subscriptions (the listing failed): keep every topic status recorded in the policy.
  const recordedTopics = (cq.status?.subscriptions ?? []).flatMap((s) => (s.topicArn ? [s.topicArn] : []));
  const topics = found
    ? deliveringTopics(plan, found)
    : [...new Set([...deliveringTopics(plan, []), ...recordedTopics])].sort();
  const desired = desiredQueues(cq, ctx.settings, names, arns, policySources(cq, topics));

  // The DLQ first: the queue's RedrivePolicy names it. Not beside a queue that is not ours (and
  // not being adopted): it would serve nothing, and an adoption later would redrive elsewhere.
  let deadLetter: PartResult<QueueReport> | undefined;
  if (desired.deadLetter && !(queueRead.ok && refusedQueue(cq, queueRead.value, ctx.settings.clusterName))) {
    const wanted = desired.deadLetter;
    deadLetter = await runPart(ctx, 'deadLetterQueue', () => ensureDeadLetter(ctx, cq, wanted, claim));
    reports.push({ part: 'dead-letter queue', result: deadLetter });
  }

  // The queue, its attributes and its policy (widened to every topic that delivers, before any
  // Subscribe). A DLQ that is not ours stops it: the queue's redrive would name someone else's.
  const queue: PartResult<QueueReport> =
    deadLetter && !deadLetter.ok && 'refused' in deadLetter
      ? { ok: false, refused: `not changing SQS queue ${names.queue}: its dead-letter queue is not ours` }
      : !queueRead.ok
        ? queueRead
        : await runPart(ctx, 'queue', () => ensureAsRead(ctx, cq, desired.queue, queueRead.value));
  reports.push({ part: 'queue', result: queue });
  announceMade(ctx, cq, names, queue, deadLetter);

  // The encryption key: SNS can deliver into an SSE-KMS queue only if the key policy lets it.
  const kmsKeyId = cq.spec.encryption.kmsKeyId;
  const needsKeyCheck = kmsKeyId !== undefined && (cq.spec.subscriptions?.length ?? 0) > 0;
  let key: PartResult<KeyCheck> | undefined;
  if (needsKeyCheck && queue.ok) {
    key = await runPart(ctx, 'encryption key', () => keyUsableBySns(ctx.keys, kmsKeyId));
    if (!key.ok) reports.push({ part: 'encryption key', result: key });
  }

  // Subscriptions: only into a queue that is ours and whose policy admits the topics.
  let outcomes = new Map<number, ActedOutcome>();
  let leftovers: Leftover[] = [];
  let subscriptionsKnown = false;
  if (!listed.ok) reports.push({ part: 'subscriptions', result: listed });
  else if (queue.ok) {
    // No Subscribe before its topic is recorded: if that write fails, the entries wait.
    const recorded = await runPart(ctx, 'subscriptions', () => recordIntents(ctx, cq, plan, recordedTopics));
    if (!recorded.ok) reports.push({ part: 'subscriptions', result: recorded });
  }
  if (listed.ok && queue.ok && reports.every((r) => r.part !== 'subscriptions')) {
    const acted = await actOnSubscriptions(ctx, cq, plan, listed.value, queue.value, {
      topics,
      desiredDeadLetter:
        desired.deadLetter !== undefined && deadLetter?.ok === true ? deadLetter.value : undefined,
      arns,
    });
    outcomes = acted.outcomes;
    leftovers = acted.leftovers;
    subscriptionsKnown = true;
    if (acted.policyFailure) reports.push({ part: 'queue policy', result: acted.policyFailure });
  }

  // Alarms: independent of the subscriptions; not on a queue that is not ours.
  const queueRefused = !queue.ok && 'refused' in queue;
  let alarms: PartResult<AlarmOutcome> | undefined;
  if (!queueRefused) {
    alarms = await runPart(ctx, 'alarms', () => syncAlarms(ctx, cq, names));
    reports.push({ part: 'alarms', result: alarms });
  }

  // A dead-letter redrive asked for by annotation: only between queues that are ours. It is an
  // operation, not the queue's state: its progress is status.redrive, never Ready or Synced.
  const redrive = queue.ok ? await redrivePart(ctx, cq, arns) : undefined;

  await writeApplyStatus(ctx, cq, {
    names,
    plan,
    reports,
    queue,
    deadLetter,
    alarms,
    key: needsKeyCheck ? key : null,
    subscriptions: subscriptionsKnown ? subscriptionStatus(plan, outcomes, leftovers) : undefined,
    redrive: redrive?.status,
  });
  // Both queues' tags were read (or set at creation) and brought to spec.
  const tagsChecked = (part: PartResult<QueueReport> | undefined) =>
    part === undefined || (part.ok && part.value.state?.tagsAssumed !== true);
  if (queue.ok && tagsChecked(queue) && tagsChecked(deadLetter)) ctx.tagChecks?.checkedNow(cq);
  return withRecheck(resultOf(ctx, cq, reports, plan, outcomes, alarms), redrive?.recheckMs);
}

async function redrivePart(
  ctx: Ctx,
  cq: ConsumerQueue,
  arns: { queue: string; deadLetter: string },
): Promise<RedriveOutcome> {
  try {
    const outcome = await syncRedrive(cq, arns, {
      moves: ctx.moves,
      // On the newest status, so a subscription intent recorded earlier in this reconcile stays.
      record: (status) => applyStatus(ctx, cq, { ...(ctx.written.current(cq) ?? {}), redrive: status }),
      event: (type, reason, message) => ctx.recorder.event(cq, type, reason, message),
    });
    if (outcome.error === undefined) return outcome;
    ctx.log.warn({ err: outcome.error }, 'redrive failed, trying again');
    return { ...outcome, recheckMs: REDRIVE_RECHECK_MS };
  } catch (error) {
    // Nothing recorded yet: status stays as it was, and the next reconcile decides again.
    ctx.log.warn({ err: error }, 'redrive failed, trying again');
    return { status: undefined, recheckMs: REDRIVE_RECHECK_MS };
  }
}

/** The reconcile's result, coming back no later than `recheckMs` when that is set. */
function withRecheck(result: ReconcileResult, recheckMs: number | undefined): ReconcileResult {
  if (recheckMs === undefined) return result;
  if (result.kind === 'done') return requeueAfter(recheckMs);
  if (result.kind === 'requeueAfter') return requeueAfter(Math.min(result.afterMs, recheckMs));
  return result;
}

/** The queue exists and will be refused: neither ours nor one this object may adopt. */
function refusedQueue(cq: ConsumerQueue, queue: QueueState | undefined, clusterName: string): boolean {
  if (!queue || ownershipOf(queue.tags, ownerOfObject(cq, clusterName)) === 'ours') return false;
  return !(wantsAdoption(cq) && adoptable(queue.tags));
}

/** The queue name at the end of a redrive policy's deadLetterTargetArn, if any. */
function redriveTarget(policy: string | undefined): string | undefined {
  if (!policy) return undefined;
  try {
    const arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof arn === 'string' ? arn.split(':').pop() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adopting a queue that already redrives to a dead-letter queue: that queue, not a new one, is
 * the DLQ to adopt, so the messages already dead-lettered stay where the queue sends them. Only
 * while the queue is being adopted (then status records the DLQ, and queueNames keeps it); the
 * DLQ is then planned like any other (adopted if it carries no ownership tags, refused otherwise,
 * which leaves the queue unchanged).
 */
function adoptedDeadLetter(cq: ConsumerQueue, queue: QueueState | undefined): string | undefined {
  if (!queue || !wantsAdoption(cq) || !cq.spec.deadLetter.enabled || !adoptable(queue.tags)) return undefined;
  return redriveTarget(queue.attributes['RedrivePolicy']);
}

/** The keys of a ConsumerQueue's connection-details ConfigMap. */
function connectionData(
  ctx: Ctx,
  queue: { name: string; url: string; arn: string },
  deadLetter: { url: string; arn: string } | undefined,
): ConnectionData {
  return {
    QUEUE_URL: queue.url,
    QUEUE_ARN: queue.arn,
    QUEUE_NAME: queue.name,
    ...(deadLetter ? { DLQ_URL: deadLetter.url, DLQ_ARN: deadLetter.arn } : {}),
    AWS_REGION: ctx.settings.region,
  };
}

/**
 * managementPolicy ObserveOnly: read the queue, whoever owns it, and its DLQ (the one its redrive
 * policy names), and report URLs, ARNs, backlog and drift; never create, tag, change or subscribe.
 */
async function observeQueue(cq: ConsumerQueue, ctx: Ctx): Promise<ReconcileResult> {
  const names = queueNames(cq, ctx.settings);
  const queue = await ctx.queues.readQueue(names.queue);
  if (!queue) {
    const missing: ConditionValue = {
      status: 'False',
      reason: 'NotFound',
      message: `SQS queue ${names.queue} does not exist; managementPolicy ObserveOnly never creates it`,
    };
    await writeStatus(ctx, cq, {
      ready: missing,
      synced: missing,
      connection: await syncConnectionDetails(ctx, cq, undefined),
      fields: { queueName: names.queue, queueUrl: undefined, queueArn: undefined, backlog: undefined },
    });
    return done();
  }
  const target = redriveTarget(queue.attributes['RedrivePolicy']);
  const deadLetter = target ? await ctx.queues.readQueue(target) : undefined;
  const account = await ctx.account.accountId();
  const arns = {
    queue: queue.arn,
    deadLetter: deadLetter?.arn ?? queueArn(ctx.settings.region, account, names.deadLetter),
  };
  const desired = desiredQueues(cq, ctx.settings, names, arns, { queue: [], deadLetter: [] });
  const drift = driftOf(desired.queue, queue).map((d) => `queue: ${d}`);
  if (desired.deadLetter && !target) drift.push('queue: it has no dead-letter queue, the spec asks for one');
  if (!desired.deadLetter && target)
    drift.push(`queue: it redrives to ${target}, the spec asks for no dead-letter queue`);
  if (desired.deadLetter && target && !deadLetter) drift.push(`dead-letter queue ${target} does not exist`);
  if (desired.deadLetter && deadLetter)
    drift.push(...driftOf(desired.deadLetter, deadLetter).map((d) => `dead-letter queue: ${d}`));
  const { ready, synced } = observedConditions(cq, `SQS queue ${names.queue}`, drift, ctx.recorder);
  const queueInfo = { name: names.queue, url: queue.url, arn: queue.arn };
  const dlqInfo = deadLetter ? { url: deadLetter.url, arn: deadLetter.arn } : undefined;
  await writeStatus(ctx, cq, {
    ready,
    synced,
    connection: await syncConnectionDetails(ctx, cq, connectionData(ctx, queueInfo, dlqInfo)),
    fields: {
      queueName: names.queue,
      queueUrl: queue.url,
      queueArn: queue.arn,
      deadLetterQueueUrl: dlqInfo?.url,
      deadLetterQueueArn: dlqInfo?.arn,
      backlog: {
        visible: count(queue, 'ApproximateNumberOfMessages'),
        inFlight: count(queue, 'ApproximateNumberOfMessagesNotVisible'),
        delayed: count(queue, 'ApproximateNumberOfMessagesDelayed'),
        deadLetter: count(deadLetter, 'ApproximateNumberOfMessages'),
      },
    },
  });
  return done();
}

/** An entry's outcome, with the failure behind a Failed one (for the reconcile's result). */
type ActedOutcome = EntryOutcome & { failure?: Failure; error?: unknown };

type Leftover = { key: ObjectKey | undefined; sub: FoundSubscription; message: string };

/**
 * Records in status the topics about to get a new subscription, before Subscribe: should the
 * process stop between Subscribe and the final status write, and the entry then be removed, the
 * topic is still one the next reconcile looks at, so the subscription is found and removed.
 */
async function recordIntents(
  ctx: Ctx,
  cq: ConsumerQueue,
  plan: SubscriptionsPlan,
  recordedTopics: readonly string[],
): Promise<void> {
  const intents = plan.entries.flatMap((e) =>
    e.action === 'subscribe' && !e.current && !recordedTopics.includes(e.topicArn) ? [e] : [],
  );
  if (intents.length === 0) return;
  await applyStatus(ctx, cq, {
    ...(cq.status ?? {}),
    subscriptions: [
      ...(cq.status?.subscriptions ?? []),
      ...intents.map((e) => ({
        ...(e.key ? { topicRef: e.key } : {}),
        state: 'Waiting' as const,
        reason: 'Subscribing',
        message: `Subscribing to ${e.topicArn}`,
        topicArn: e.topicArn,
      })),
    ],
  });
}

/**
 * Acts on each entry on its own (a refused or failing entry never stops the others), removes the
 * subscriptions no entry wants, and then narrows the policies to the topics that still deliver:
 * a topic leaves a policy only after its subscription is gone.
 */
async function actOnSubscriptions(
  ctx: Ctx,
  cq: ConsumerQueue,
  plan: SubscriptionsPlan,
  found: readonly FoundSubscription[],
  queue: QueueReport,
  policy: {
    topics: readonly string[];
    desiredDeadLetter: QueueReport | undefined;
    arns: { queue: string; deadLetter: string };
  },
): Promise<{
  outcomes: Map<number, ActedOutcome>;
  leftovers: Leftover[];
  policyFailure: PartResult<unknown> | undefined;
}> {
  const outcomes = new Map<number, ActedOutcome>();
  const removed = new Set<string>();
  const leftovers: Leftover[] = [];
  const keyOfTopic = (topicArn: string): ObjectKey | undefined =>
    cq.status?.subscriptions?.find((s) => s.topicArn === topicArn)?.topicRef;
  const unsubscribe = async (sub: FoundSubscription, why: string) => {
    await ctx.topics.unsubscribe(sub.arn);
    removed.add(sub.arn);
    ctx.recorder.event(
      cq,
      'Normal',
      'Unsubscribed',
      `Removed subscription ${sub.arn} to ${sub.topicArn}: ${why}`,
    );
  };

  for (const entry of plan.entries) {
    if (entry.action !== 'subscribe') continue;
    outcomes.set(entry.index, await actOnEntry(ctx, cq, entry, queue.arn));
    const active = outcomes.get(entry.index)?.state === 'Active';
    for (const d of entry.duplicates) {
      try {
        await unsubscribe(d, 'a second subscription of this queue to the same topic would deliver twice');
      } catch (error) {
        leftovers.push({
          key: entry.key,
          sub: d,
          message: `duplicate subscription, not removed yet: ${failureOf(error).message}`,
        });
      }
    }
    // The old ARN of a recreated topic goes only once the new subscription exists.
    for (const old of entry.superseded) {
      if (!active) {
        leftovers.push({
          key: entry.key,
          sub: old,
          message: `kept until the subscription to ${entry.topicArn} exists`,
        });
        continue;
      }
      try {
        await unsubscribe(old, `${entry.label} now has ARN ${entry.topicArn}`);
      } catch (error) {
        leftovers.push({
          key: entry.key,
          sub: old,
          message: `replaced, not removed yet: ${failureOf(error).message}`,
        });
      }
    }
  }
  for (const sub of plan.unwanted) {
    try {
      await unsubscribe(sub, 'no subscription entry wants it');
    } catch (error) {
      leftovers.push({
        key: keyOfTopic(sub.topicArn),
        sub,
        message: `not removed yet: ${failureOf(error).message}`,
      });
    }
  }

  let policyFailure: PartResult<unknown> | undefined;
  if (removed.size > 0) {
    const remaining = found.filter((f) => !removed.has(f.arn));
    const narrowed = policySources(cq, deliveringTopics(plan, remaining));
    const wasQueue = policySources(cq, policy.topics);
    const owner = ownerOfObject(cq, ctx.settings.clusterName);
    const result = await runPart(ctx, 'queue policy', async () => {
      if (narrowed.queue.join() !== wasQueue.queue.join())
        await ctx.queues.setQueueAttributes(queue.url, {
          Policy: canonicalJson(
            queuePolicy(policy.arns.queue, owner, narrowed.queue, cq.spec.allowedSenders),
          ),
        });
      if (policy.desiredDeadLetter && narrowed.deadLetter.join() !== wasQueue.deadLetter.join())
        await ctx.queues.setQueueAttributes(policy.desiredDeadLetter.url, {
          Policy: canonicalJson(deadLetterPolicy(policy.arns.deadLetter, owner, narrowed.deadLetter)),
        });
    });
    if (!result.ok) policyFailure = result;
  }
  return { outcomes, leftovers, policyFailure };
}

/** Subscribe, or bring an existing subscription's attributes in line; a failure stays this entry's. */
async function actOnEntry(
  ctx: Ctx,
  cq: ConsumerQueue,
  entry: Extract<EntryPlan, { action: 'subscribe' }>,
  endpoint: string,
): Promise<ActedOutcome> {
  const note = entry.noRedrive ? `; ${entry.noRedrive}` : '';
  try {
    if (entry.current?.pending) return pendingOutcome(entry, entry.current.arn);
    let arn = entry.current?.arn;
    if (!arn) {
      arn = await ctx.topics.subscribe(entry.topicArn, endpoint, entry.attributes);
      ctx.recorder.event(cq, 'Normal', 'Subscribed', `Subscribed to ${entry.topicArn}`);
      // A topic outside the cluster may hold the subscription for its owner's confirmation.
      if (!entry.key) {
        const made = isPendingConfirmation(arn) ? undefined : await ctx.topics.readSubscription(arn);
        if (isPendingConfirmation(arn, made?.attributes)) {
          ctx.recorder.event(cq, 'Warning', 'PendingConfirmation', pendingOutcome(entry, arn).message);
          return pendingOutcome(entry, arn);
        }
      }
    } else if (Object.keys(entry.delta).length > 0) {
      await ctx.topics.setSubscriptionAttributes(arn, entry.delta);
      ctx.recorder.event(
        cq,
        'Normal',
        'Updated',
        `Updated subscription ${arn}: ${Object.keys(entry.delta).join(', ')}`,
      );
    }
    return {
      state: 'Active',
      reason: entry.noRedrive ? 'SubscribedWithoutRedrive' : 'Subscribed',
      message: `Subscribed to ${entry.topicArn}${note}`,
      topicArn: entry.topicArn,
      subscriptionArn: arn,
    };
  } catch (error) {
    if (!entry.current && isAwsNotFound(error)) {
      // The SNS topic is already gone (its EventTopic is being deleted, or it was deleted out of
      // band and will be made again): nothing failed; the entry waits like one whose topic is absent.
      ctx.log.info({ topicArn: entry.topicArn }, 'topic gone before subscribing; waiting for it');
      return {
        state: 'Waiting',
        reason: 'TopicNotFound',
        message: `SNS topic ${entry.topicArn} does not exist (any more); waiting for it`,
        topicArn: entry.topicArn,
        subscriptionArn: undefined,
      };
    }
    const failure = failureOf(error);
    ctx.log.warn({ err: error, topicArn: entry.topicArn }, 'subscription failed');
    ctx.recorder.event(
      cq,
      'Warning',
      failure.reason,
      `Subscription to ${entry.topicArn} failed: ${failure.message}`,
    );
    return {
      state: 'Failed',
      reason: failure.reason,
      message: failure.message,
      topicArn: entry.topicArn,
      subscriptionArn: entry.current?.arn,
      failure,
      error,
    };
  }
}

/** An entry whose subscription SNS holds until the topic's owner confirms it. */
function pendingOutcome(entry: Extract<EntryPlan, { action: 'subscribe' }>, arn: string): ActedOutcome {
  const owner = entry.topicArn.split(':')[4] ?? 'its';
  return {
    state: 'PendingConfirmation',
    reason: 'PendingConfirmation',
    message: `SNS holds the subscription to ${entry.topicArn} until it is confirmed: the topic's owner (account ${owner}) must confirm it, or let this account subscribe in the topic's policy and the operator subscribes again`,
    topicArn: entry.topicArn,
    ...(isPendingConfirmation(arn) || arn === '' ? {} : { subscriptionArn: arn }),
  };
}

const count = (state: QueueState | undefined, attribute: string) =>
  Number(state?.attributes[attribute] ?? 0) || 0;

/** The reasons failureOf gives a failure that may pass by itself (retry: true). */
const TRANSIENT_REASONS = new Set(['Throttled', 'AwsUnavailable', 'ReconcileError']);

interface Problem {
  reason: string;
  message: string;
  /** A failure that may pass by itself: it says nothing about whether the queue matches the spec. */
  transient: boolean;
}

const failedReport = (r: PartReport): Problem | undefined => {
  if (r.result.ok) return undefined;
  if ('refused' in r.result)
    return { reason: 'NotOwned', message: `${r.part}: ${r.result.refused}`, transient: false };
  const { failure } = r.result;
  return { reason: failure.reason, message: `${r.part}: ${failure.message}`, transient: failure.retry };
};

async function writeApplyStatus(
  ctx: Ctx,
  cq: ConsumerQueue,
  input: {
    names: QueueNames;
    plan: SubscriptionsPlan;
    reports: PartReport[];
    queue: PartResult<QueueReport>;
    deadLetter: PartResult<QueueReport> | undefined;
    alarms: PartResult<AlarmOutcome> | undefined;
    /** The key check: its result, not known this time (undefined), or not needed (null). */
    key: PartResult<KeyCheck> | undefined | null;
    subscriptions: ConsumerQueueStatus['subscriptions'];
    /** status.redrive when the redrive part changed it; absent leaves it as it is. */
    redrive?: RedriveStatus | undefined;
  },
): Promise<void> {
  const { names, queue, deadLetter, alarms, subscriptions } = input;
  const keyCheck = input.key?.ok ? input.key.value : undefined;
  // Parts that failed, and entries whose subscription AWS refused or failed.
  const problems: Problem[] = [
    ...input.reports.flatMap((r) => failedReport(r) ?? []),
    ...(subscriptions ?? []).flatMap((e) =>
      e.state === 'Failed'
        ? [
            {
              reason: e.reason ?? 'SubscriptionFailed',
              message: `subscription to ${e.topicRef ? 'EventTopic ' : 'SNS topic '}${entryName(e)}: ${e.message ?? ''}`,
              transient: TRANSIENT_REASONS.has(e.reason ?? ''),
            },
          ]
        : [],
    ),
  ];
  // Only failures that may pass, on a queue that exists: Synced says so, and what is not known
  // this time (Ready, and Subscribed or AlarmsReady when their part failed) is left as it was.
  const keepUnknown = problems.length > 0 && problems.every((p) => p.transient) && !!cq.status?.queueUrl;
  const entryCount = cq.spec.subscriptions?.length ?? 0;
  const subscribed: ConditionValue = subscriptions
    ? subscribedCondition(subscriptions, entryCount)
    : {
        status: 'False',
        reason: problems[0]?.reason ?? 'QueueNotReady',
        message: `The subscriptions wait for the queue: ${problems.map((p) => p.message).join('; ') || 'not in place yet'}`,
      };
  const alarmCondition = alarms?.ok
    ? alarms.value.condition
    : alarms && !alarms.ok && 'failure' in alarms
      ? { status: 'False' as const, reason: alarms.failure.reason, message: alarms.failure.message }
      : undefined;
  const queueText = `SQS queue ${names.queue}`;
  const ready: ConditionValue =
    problems[0] !== undefined
      ? { status: 'False', reason: problems[0].reason, message: problems.map((p) => p.message).join('; ') }
      : keyCheck?.status === 'False'
        ? keyCheck
        : subscribed.status !== 'True'
          ? subscribed
          : alarmCondition && alarmCondition.status !== 'True'
            ? { status: 'False', reason: alarmCondition.reason, message: alarmCondition.message }
            : {
                status: 'True',
                reason: 'Available',
                message: `${queueText} and its dead-letter queue match the spec and are subscribed to ${entryCount} topic(s)`,
              };
  const synced: ConditionValue =
    problems[0] !== undefined
      ? { status: 'False', reason: problems[0].reason, message: problems.map((p) => p.message).join('; ') }
      : {
          status: 'True',
          reason: 'Synced',
          message: 'The SQS queues, subscriptions and alarms match the spec',
        };

  // Tag keys the operator applied: the spec's once every tagged part succeeded; until then the
  // ones it may still have to remove stay recorded.
  const specKeys = Object.keys(cq.spec.tags ?? {});
  const taggedOk =
    queue.ok && (deadLetter === undefined || deadLetter.ok) && (alarms === undefined || alarms.ok);
  const managedTagKeys = [
    ...new Set(taggedOk ? specKeys : [...specKeys, ...(cq.status?.managedTagKeys ?? [])]),
  ].sort();

  const fields: Partial<ConsumerQueueStatus> = {
    queueName: names.queue,
    managedTagKeys: managedTagKeys.length > 0 ? managedTagKeys : undefined,
  };
  // The URL and ARN as soon as the queue exists, whatever fails later.
  if (queue.ok) {
    fields.queueUrl = queue.value.url;
    fields.queueArn = queue.value.arn;
  }
  // Without a DLQ the fields go (an undefined field is left out of the apply, so it is removed);
  // a DLQ that existed before is kept in AWS, since it may hold messages.
  if (!cq.spec.deadLetter.enabled) {
    fields.deadLetterQueueUrl = undefined;
    fields.deadLetterQueueArn = undefined;
  } else if (deadLetter?.ok) {
    fields.deadLetterQueueUrl = deadLetter.value.url;
    fields.deadLetterQueueArn = deadLetter.value.arn;
  }
  if (subscriptions) fields.subscriptions = subscriptions;
  if (input.redrive) fields.redrive = input.redrive;
  if (queue.ok) {
    const dlqState = deadLetter?.ok ? deadLetter.value.state : undefined;
    fields.backlog = {
      visible: count(queue.value.state, 'ApproximateNumberOfMessages'),
      inFlight: count(queue.value.state, 'ApproximateNumberOfMessagesNotVisible'),
      delayed: count(queue.value.state, 'ApproximateNumberOfMessagesDelayed'),
      deadLetter: count(dlqState, 'ApproximateNumberOfMessages'),
    };
  }
  if (alarms?.ok) {
    fields.alarms = alarms.value.alarms;
    fields.alarmState = alarms.value.alarmState;
  }
  const connection = await syncConnectionDetails(
    ctx,
    cq,
    queue.ok
      ? connectionData(
          ctx,
          { name: names.queue, url: queue.value.url, arn: queue.value.arn },
          cq.spec.deadLetter.enabled && deadLetter?.ok ? deadLetter.value : undefined,
        )
      : undefined,
  );
  await writeStatus(ctx, cq, {
    ...(keepUnknown ? {} : { ready }),
    synced,
    connection,
    ...(keepUnknown && !subscriptions ? {} : { subscribed }),
    alarms: alarms?.ok ? (alarms.value.condition ?? null) : keepUnknown ? undefined : alarmCondition,
    key: input.key === null ? null : keyCheck,
    fields,
  });
}

/**
 * After the status write: a retryable failure backs off (rethrown), a terminal one stops until the
 * spec changes, a waiting entry or alarm topic looks again later.
 */
function resultOf(
  ctx: Ctx,
  cq: ConsumerQueue,
  reports: PartReport[],
  plan: SubscriptionsPlan,
  outcomes: ReadonlyMap<number, ActedOutcome>,
  alarms: PartResult<AlarmOutcome> | undefined,
): ReconcileResult {
  const failures: { failure: Failure; error: unknown }[] = [
    ...reports.flatMap((r) => (!r.result.ok && 'failure' in r.result ? [r.result] : [])),
    ...[...outcomes.values()].flatMap((o) => {
      return o.failure ? [{ failure: o.failure, error: o.error }] : [];
    }),
  ];
  const retryable = failures.find((f) => f.failure.retry);
  if (retryable) throw new ReportedFailure(retryable.error, retryable.failure);
  const refused = reports.find((r) => !r.result.ok && 'refused' in r.result);
  if (refused && !refused.result.ok && 'refused' in refused.result) {
    ctx.recorder.event(cq, 'Warning', 'NotOwned', refused.result.refused);
    return terminal('NotOwned', refused.result.refused);
  }
  const [firstTerminal] = failures;
  if (firstTerminal) {
    ctx.recorder.event(cq, 'Warning', firstTerminal.failure.reason, firstTerminal.failure.message);
    return terminal(firstTerminal.failure.reason, firstTerminal.failure.message);
  }
  const waiting =
    plan.entries.some((e) => e.action === 'hold') ||
    [...outcomes.values()].some((o) => o.state === 'Waiting') ||
    (alarms?.ok === true && alarms.value.waiting);
  return waiting ? requeueAfter(WAITING_RECHECK_MS) : done();
}

const messagesIn = (state: QueueState | undefined) => ({
  visible: count(state, 'ApproximateNumberOfMessages'),
  inFlight: count(state, 'ApproximateNumberOfMessagesNotVisible'),
  delayed: count(state, 'ApproximateNumberOfMessagesDelayed'),
});
const total = (m: ReturnType<typeof messagesIn>) => m.visible + m.inFlight + m.delayed;

/**
 * Teardown in the order that loses nothing: the subscriptions first (found from AWS, so nothing
 * keeps delivering), then the alarms, then — once both queues have drained, unless the user
 * consented to losing messages — the queues.
 */
async function cleanupQueue(cq: ConsumerQueue, ctx: Ctx): Promise<ReconcileResult> {
  const names = queueNames(cq, ctx.settings);
  if (isObserveOnly(cq)) return done(); // never touched, so nothing to undo
  const owner = {
    cluster: ctx.settings.clusterName,
    namespace: cq.metadata?.namespace ?? '',
    name: cq.metadata?.name ?? '',
    uid: cq.metadata?.uid ?? '',
  };
  const ours = (state: QueueState | undefined) =>
    state && ownershipOf(state.tags, owner) === 'ours' ? state : undefined;
  const queue = ours(await ctx.queues.readQueue(names.queue));
  const deadLetter = ours(await ctx.queues.readQueue(names.deadLetter));
  if (cq.spec.deletionPolicy === 'Retain') {
    // Release, the reverse of adoption: everything stays and keeps working, without the tags that
    // made it ours, so another object may adopt it (and nothing takes it without being asked to).
    for (const q of [queue, deadLetter]) if (q) await ctx.queues.untagQueue(q.url, OWNERSHIP_TAG_KEYS);
    await releaseQueueAlarms(ctx, cq, names);
    ctx.recorder.event(
      cq,
      'Normal',
      'Retained',
      `Kept SQS queue ${names.queue}, its dead-letter queue, subscriptions and alarms, and removed their ownership tags (deletionPolicy: Retain); another object may adopt them`,
    );
    return done();
  }

  // Only the subscriptions whose endpoint is a queue that is ours.
  if (queue) {
    const topics = topicsOfInterest(cq, ctx.lookupTopic, ctx.topicByArn);
    for (const sub of await findOurSubscriptions(ctx, topics, queue.arn)) {
      if (sub.arn === '') continue; // pending: nothing to remove yet, SNS drops it unconfirmed
      await ctx.topics.unsubscribe(sub.arn);
      ctx.recorder.event(cq, 'Normal', 'Unsubscribed', `Removed subscription ${sub.arn} to ${sub.topicArn}`);
    }
  }
  await deleteQueueAlarms(ctx, cq, names);

  const inQueue = messagesIn(queue);
  const inDeadLetter = messagesIn(deadLetter);
  const held = total(inQueue) + total(inDeadLetter);
  if (held > 0 && cq.metadata?.annotations?.[ALLOW_DELETE_WITH_MESSAGES] !== 'true') {
    const where = [
      total(inQueue) > 0
        ? `${total(inQueue)} in SQS queue ${names.queue} (${inQueue.visible} visible, ${inQueue.inFlight} in flight, ${inQueue.delayed} delayed)`
        : '',
      total(inDeadLetter) > 0 ? `${total(inDeadLetter)} in dead-letter queue ${names.deadLetter}` : '',
    ].filter(Boolean);
    const message = `Waiting for the queues to drain: ${held} message(s) remain, ${where.join(' and ')}; the subscriptions are removed, so no new message arrives. Receive and delete them, or annotate the ConsumerQueue ${ALLOW_DELETE_WITH_MESSAGES}=true to delete them anyway`;
    await writeStatus(ctx, cq, {
      ready: { status: 'False', reason: 'DeletionBlocked', message },
      synced: { status: 'False', reason: 'DeletionBlocked', message },
    });
    ctx.recorder.event(cq, 'Warning', 'DeletionBlocked', message);
    return requeueAfter(BLOCKED_DELETE_RECHECK_MS);
  }
  if (queue) {
    await ctx.queues.deleteQueue(queue.url);
    ctx.recorder.event(cq, 'Normal', 'Deleted', `Deleted SQS queue ${names.queue}`);
  }
  if (deadLetter) {
    await ctx.queues.deleteQueue(deadLetter.url);
    ctx.recorder.event(cq, 'Normal', 'Deleted', `Deleted SQS queue ${names.deadLetter}`);
  }
  return done();
}

async function writeStatus(
  ctx: Ctx,
  cq: ConsumerQueue,
  next: {
    ready?: ConditionValue;
    synced: ConditionValue;
    subscribed?: ConditionValue;
    /** The AlarmsReady condition: set, removed (null), or left as it is (absent). */
    alarms?: ConditionValue | null | undefined;
    /** The EncryptionKeyUsable condition, the same way. */
    key?: ConditionValue | null | undefined;
    /** The ConnectionDetailsReady condition, the same way. */
    connection?: ConditionValue | null | undefined;
    fields?: Partial<ConsumerQueueStatus>;
  },
): Promise<void> {
  const previous = cq.status ?? {};
  let conditions = previous.conditions;
  if (next.alarms === null) conditions = removeCondition(conditions, ALARMS_CONDITION);
  if (next.key === null) conditions = removeCondition(conditions, KEY_CONDITION);
  if (next.connection === null) conditions = removeCondition(conditions, CONNECTION_CONDITION);
  const status = nextStatus<ConsumerQueueStatus>(
    conditions === previous.conditions ? previous : { ...previous, conditions },
    cq.metadata?.generation,
    next.fields ?? {},
    [
      ...(next.ready ? [{ type: 'Ready', ...next.ready }] : []),
      { type: 'Synced', ...next.synced },
      ...(next.subscribed ? [{ type: SUBSCRIBED_CONDITION, ...next.subscribed }] : []),
      ...(next.alarms ? [{ type: ALARMS_CONDITION, ...next.alarms }] : []),
      ...(next.key ? [{ type: KEY_CONDITION, ...next.key }] : []),
      ...(next.connection ? [{ type: CONNECTION_CONDITION, ...next.connection }] : []),
    ],
  );
  await applyStatus(ctx, cq, status);
}

async function applyStatus(ctx: Ctx, cq: ConsumerQueue, status: ConsumerQueueStatus): Promise<void> {
  // Written only when it differs from the newest status known (the last one written, or the
  // cache's): a resync that finds nothing changed costs the API server nothing.
  if (sameStatus(ctx.written.current(cq), status)) return;
  await ctx.status.apply(cq, status);
  ctx.written.record(cq, status);
}
