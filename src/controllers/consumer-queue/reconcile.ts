// I/O edge of the ConsumerQueue controller: gather (queues, subscriptions, referenced topics),
// decide with the pure functions of desired.ts, act, write status.
import { queueArn } from '../../aws/account.ts';
import type { AccountIdentity } from '../../aws/account.ts';
import type { AlarmGateway } from '../../aws/cloudwatch.ts';
import { ownershipOf } from '../../aws/ownership.ts';
import type { QueueGateway, QueueState } from '../../aws/queues.ts';
import type { TopicGateway } from '../../aws/topics.ts';
import type { ConsumerQueue, ConsumerQueueStatus } from '../../crds/index.ts';
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
import { failureOf, nextStatus, settleFailure, type ConditionValue } from '../shared/outcome.ts';
import { changedFields, isNoop, planResource, type DesiredResource } from '../shared/plan.ts';
import { FINALIZER, type OperatorSettings } from '../shared/settings.ts';
import { ALARMS_CONDITION, deleteQueueAlarms, syncAlarms, type AlarmCondition } from './alarm-sync.ts';
import {
  desiredQueues,
  planSubscriptions,
  queueNames,
  resolveSubscriptions,
  type ExistingSubscription,
  type ResolvedSubscription,
  type TopicLookup,
} from './desired.ts';

/** Set to "true" to let the operator delete a queue (or its DLQ) that still holds messages. */
export const ALLOW_DELETE_WITH_MESSAGES = 'pubsub.ecommerce.io/allow-delete-with-messages';
/** How often a queue waiting for a topic looks again, should no topic event wake it first. */
export const WAITING_RECHECK_MS = 30_000;
/** How often a deletion blocked by messages looks again. */
export const BLOCKED_DELETE_RECHECK_MS = 30_000;

export interface ConsumerQueueServices {
  queues: QueueGateway;
  topics: TopicGateway;
  /** CloudWatch alarms of spec.alarms. */
  alarms: AlarmGateway;
  account: AccountIdentity;
  lookupTopic: TopicLookup;
  kube: FinalizerClient;
  status: { apply(obj: ConsumerQueue, status: ConsumerQueueStatus): Promise<unknown> };
  recorder: EventRecorder;
  settings: OperatorSettings;
}

type Ctx = ReconcileContext & ConsumerQueueServices;

export const reconcileConsumerQueue: Reconciler<ConsumerQueue, ConsumerQueueServices> = async (req, ctx) => {
  const cq = req.object;
  if (!cq) return done();
  try {
    return await withFinalizer(ctx.kube, cq, FINALIZER, {
      apply: (current) => applyQueue(current, ctx),
      cleanup: (current) => cleanupQueue(current, ctx),
    });
  } catch (error) {
    return settleFailure(ctx, cq, error, failureOf(error), (problem) =>
      writeStatus(ctx, cq, { ...(cq.status?.queueUrl ? {} : { ready: problem }), synced: problem }),
    );
  }
};

/** Creates or updates one queue per its plan; returns its URL and ARN, or a refusal message. */
async function ensureQueue(
  ctx: Ctx,
  cq: ConsumerQueue,
  desired: DesiredResource,
  actual: QueueState | undefined,
): Promise<{ url: string; arn: string } | { refused: string }> {
  const plan = planResource(desired, actual);
  if (plan.action === 'refuse') return { refused: plan.message };
  if (plan.action === 'create') {
    const created = await ctx.queues.createQueue(
      desired.name,
      { ...desired.createOnly, ...desired.attributes },
      desired.tags,
    );
    ctx.log.info({ queueUrl: created.url }, 'created SQS queue');
    ctx.recorder.event(cq, 'Normal', 'Created', `Created SQS queue ${desired.name}`);
    return created;
  }
  const current = actual as QueueState;
  if (!isNoop(plan)) {
    if (Object.keys(plan.attributes).length > 0) {
      // Some SQS-compatible endpoints (moto) drop a queue's Policy on any SetQueueAttributes that
      // omits it; sending it along costs nothing on AWS and keeps them from losing it.
      const policy = desired.attributes['Policy'];
      await ctx.queues.setQueueAttributes(
        current.url,
        typeof policy === 'string' ? { Policy: policy, ...plan.attributes } : plan.attributes,
      );
    }
    if (Object.keys(plan.tags.set).length > 0) await ctx.queues.tagQueue(current.url, plan.tags.set);
    if (plan.tags.remove.length > 0) await ctx.queues.untagQueue(current.url, plan.tags.remove);
    const changed = changedFields(plan);
    ctx.log.info({ queueUrl: current.url, changed }, 'updated SQS queue');
    ctx.recorder.event(cq, 'Normal', 'Updated', `Updated SQS queue ${desired.name}: ${changed.join(', ')}`);
  }
  return { url: current.url, arn: current.arn };
}

/** Attributes the endpoint does not know at all are left out, so they cannot cause an update loop. */
async function withoutUnsupported(
  ctx: Ctx,
  desired: DesiredResource,
  actual: QueueState | undefined,
): Promise<DesiredResource> {
  if (!actual || !('RedriveAllowPolicy' in desired.attributes) || 'RedriveAllowPolicy' in actual.attributes)
    return desired;
  if (await ctx.queues.supportsAttribute(actual.url, 'RedriveAllowPolicy')) return desired;
  const { RedriveAllowPolicy: _unsupported, ...attributes } = desired.attributes;
  return { ...desired, attributes };
}

/** This queue's subscriptions to the wanted topics: by the ARN in status, else by listing the topic. */
async function findSubscriptions(
  ctx: Ctx,
  cq: ConsumerQueue,
  wanted: readonly Extract<ResolvedSubscription, { state: 'ready' }>[],
  endpoint: string,
): Promise<ExistingSubscription[]> {
  const found: ExistingSubscription[] = [];
  for (const w of wanted) {
    const known = cq.status?.subscriptions?.find((s) => s.topicArn === w.topicArn)?.subscriptionArn;
    const state = known ? await ctx.topics.readSubscription(known) : undefined;
    if (state && state.endpoint === endpoint && state.topicArn === w.topicArn) {
      found.push({ arn: state.arn, topicArn: state.topicArn, attributes: state.attributes });
      continue;
    }
    // Not recorded (or recorded wrongly, e.g. after a crash before the status write): look it up.
    for (const summary of await ctx.topics.listSubscriptionsByTopic(w.topicArn)) {
      if (summary.endpoint !== endpoint || summary.protocol !== 'sqs') continue;
      const full = await ctx.topics.readSubscription(summary.arn);
      if (full) found.push({ arn: full.arn, topicArn: full.topicArn, attributes: full.attributes });
    }
  }
  return found;
}

async function applyQueue(cq: ConsumerQueue, ctx: Ctx): Promise<ReconcileResult> {
  const names = queueNames(cq, ctx.settings);
  const account = await ctx.account.accountId();
  const arns = {
    queue: queueArn(ctx.settings.region, account, names.queue),
    deadLetter: queueArn(ctx.settings.region, account, names.deadLetter),
  };
  const resolved = resolveSubscriptions(cq, ctx.lookupTopic);
  const ready = resolved.filter(
    (r): r is Extract<ResolvedSubscription, { state: 'ready' }> => r.state === 'ready',
  );
  const desired = desiredQueues(
    cq,
    ctx.settings,
    names,
    arns,
    ready.map((r) => r.topicArn),
  );

  // The DLQ first: the queue's RedrivePolicy names it.
  let deadLetter: { url: string; arn: string; state: QueueState | undefined } | undefined;
  if (desired.deadLetter) {
    const actual = await ctx.queues.readQueue(names.deadLetter);
    const wanted = await withoutUnsupported(ctx, desired.deadLetter, actual);
    const ensured = await ensureQueue(ctx, cq, wanted, actual);
    if ('refused' in ensured) return refuse(ctx, cq, ensured.refused);
    deadLetter = { ...ensured, state: actual };
  }
  const actualQueue = await ctx.queues.readQueue(names.queue);
  const queue = await ensureQueue(ctx, cq, desired.queue, actualQueue);
  if ('refused' in queue) return refuse(ctx, cq, queue.refused);

  // Subscriptions. Entries still waiting for their topic keep whatever subscription they had.
  const existing = await findSubscriptions(ctx, cq, ready, queue.arn);
  const waitingTopicArns = new Set(
    resolved
      .filter((r) => r.state === 'waiting')
      .flatMap((r) =>
        (cq.status?.subscriptions ?? [])
          .filter((s) => s.topicRef.namespace === r.topic.namespace && s.topicRef.name === r.topic.name)
          .map((s) => s.topicArn),
      ),
  );
  const stale = (cq.status?.subscriptions ?? []).filter(
    (s) =>
      s.subscriptionArn &&
      s.topicArn &&
      !waitingTopicArns.has(s.topicArn) &&
      !ready.some((r) => r.topicArn === s.topicArn),
  );
  const plan = planSubscriptions(ready, [
    ...existing,
    ...stale.map((s) => ({ arn: s.subscriptionArn ?? '', topicArn: s.topicArn ?? '', attributes: {} })),
  ]);
  const subscriptionArns = new Map(existing.map((s) => [s.topicArn, s.arn]));
  for (const c of plan.create) {
    const arn = await ctx.topics.subscribe(c.topicArn, queue.arn, c.attributes);
    subscriptionArns.set(c.topicArn, arn);
    ctx.recorder.event(cq, 'Normal', 'Subscribed', `Subscribed to ${c.topicArn}`);
  }
  for (const u of plan.update) {
    await ctx.topics.setSubscriptionAttributes(u.arn, u.delta);
    ctx.recorder.event(
      cq,
      'Normal',
      'Updated',
      `Updated subscription ${u.arn}: ${Object.keys(u.delta).join(', ')}`,
    );
  }
  for (const arn of plan.remove) {
    await ctx.topics.unsubscribe(arn);
    ctx.recorder.event(cq, 'Normal', 'Unsubscribed', `Removed subscription ${arn}`);
  }

  // Status: what exists, the backlog as read, and whether every subscription is in place.
  const count = (state: QueueState | undefined, attribute: string) =>
    Number(state?.attributes[attribute] ?? 0) || 0;
  const pending = resolved.filter(
    (r): r is Exclude<ResolvedSubscription, { state: 'ready' }> => r.state !== 'ready',
  );
  const alarms = await syncAlarms(ctx, cq, names);
  const readyCondition: ConditionValue =
    pending[0] === undefined
      ? {
          status: 'True',
          reason: 'Available',
          message: `SQS queue ${names.queue} is subscribed to ${ready.length} topic(s)`,
        }
      : { status: 'False', reason: pending[0].reason, message: pending.map((p) => p.message).join('; ') };
  await writeStatus(ctx, cq, {
    ready: readyCondition,
    synced: { status: 'True', reason: 'Synced', message: 'The SQS queues and subscriptions match the spec' },
    alarms: alarms.condition ?? null,
    fields: {
      queueName: names.queue,
      queueUrl: queue.url,
      queueArn: queue.arn,
      // Without a DLQ the fields go (an undefined field is left out of the apply, so it is removed);
      // a DLQ that existed before is kept in AWS, since it may hold messages.
      deadLetterQueueUrl: deadLetter?.url,
      deadLetterQueueArn: deadLetter?.arn,
      subscriptions: resolved.map((r) => ({
        topicRef: r.topic,
        ...(r.state === 'ready' ? { topicArn: r.topicArn } : {}),
        ...(r.state === 'ready' && subscriptionArns.has(r.topicArn)
          ? { subscriptionArn: subscriptionArns.get(r.topicArn) }
          : {}),
      })),
      backlog: {
        visible: count(actualQueue, 'ApproximateNumberOfMessages'),
        inFlight: count(actualQueue, 'ApproximateNumberOfMessagesNotVisible'),
        delayed: count(actualQueue, 'ApproximateNumberOfMessagesDelayed'),
        deadLetter: count(deadLetter?.state, 'ApproximateNumberOfMessages'),
      },
      alarms: alarms.alarms,
      alarmState: alarms.alarmState,
    },
  });
  if (alarms.waiting || pending.some((p) => p.state === 'waiting')) return requeueAfter(WAITING_RECHECK_MS);
  return done();
}

async function refuse(ctx: Ctx, cq: ConsumerQueue, message: string): Promise<ReconcileResult> {
  const notOwned = { status: 'False' as const, reason: 'NotOwned', message };
  await writeStatus(ctx, cq, { ready: notOwned, synced: notOwned });
  ctx.recorder.event(cq, 'Warning', 'NotOwned', message);
  return terminal('NotOwned', message);
}

const messagesIn = (state: QueueState | undefined): number =>
  [
    'ApproximateNumberOfMessages',
    'ApproximateNumberOfMessagesNotVisible',
    'ApproximateNumberOfMessagesDelayed',
  ]
    .map((a) => Number(state?.attributes[a] ?? 0) || 0)
    .reduce((a, b) => a + b, 0);

async function cleanupQueue(cq: ConsumerQueue, ctx: Ctx): Promise<ReconcileResult> {
  const names = queueNames(cq, ctx.settings);
  if (cq.spec.deletionPolicy === 'Retain') {
    ctx.recorder.event(
      cq,
      'Normal',
      'Retained',
      `Kept SQS queue ${names.queue}, its subscriptions and its alarms (deletionPolicy: Retain)`,
    );
    return done();
  }
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

  const held = messagesIn(queue) + messagesIn(deadLetter);
  if (held > 0 && cq.metadata?.annotations?.[ALLOW_DELETE_WITH_MESSAGES] !== 'true') {
    const message = `SQS queue ${names.queue} and its dead-letter queue still hold ${held} message(s); drain them, or annotate the ConsumerQueue ${ALLOW_DELETE_WITH_MESSAGES}=true to delete them anyway`;
    await writeStatus(ctx, cq, {
      ready: { status: 'False', reason: 'DeletionBlocked', message },
      synced: { status: 'False', reason: 'DeletionBlocked', message },
    });
    ctx.recorder.event(cq, 'Warning', 'DeletionBlocked', message);
    return requeueAfter(BLOCKED_DELETE_RECHECK_MS);
  }

  // Ordered teardown: the alarms that watch the queues, then the subscriptions (none may deliver
  // into a queue that is going away), then the queues.
  await deleteQueueAlarms(ctx, cq, names);
  for (const s of cq.status?.subscriptions ?? [])
    if (s.subscriptionArn) await ctx.topics.unsubscribe(s.subscriptionArn);
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
    /** The AlarmsReady condition: set, removed (null), or left as it is (absent). */
    alarms?: AlarmCondition | null;
    fields?: Partial<ConsumerQueueStatus>;
  },
): Promise<void> {
  const previous = cq.status ?? {};
  const status = nextStatus<ConsumerQueueStatus>(
    next.alarms === null
      ? { ...previous, conditions: removeCondition(previous.conditions, ALARMS_CONDITION) }
      : previous,
    cq.metadata?.generation,
    next.fields ?? {},
    [
      ...(next.ready ? [{ type: 'Ready', ...next.ready }] : []),
      { type: 'Synced', ...next.synced },
      ...(next.alarms ? [{ type: ALARMS_CONDITION, ...next.alarms }] : []),
    ],
  );
  await ctx.status.apply(cq, status);
}
