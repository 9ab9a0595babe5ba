// I/O edge of the EventTopic controller: read the topic, act on the plan, write status.
import type { TopicGateway, TopicState } from '../../aws/topics.ts';
import { ownershipOf } from '../../aws/ownership.ts';
import type { EventTopic, EventTopicStatus } from '../../crds/index.ts';
import { done, terminal, type ReconcileResult, type Reconciler } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { withFinalizer, type FinalizerClient } from '../../runtime/finalizers.ts';
import { failureOf, nextStatus, settleFailure, type ConditionValue } from '../shared/outcome.ts';
import { FINALIZER, type OperatorSettings } from '../shared/settings.ts';
import { changedFields, isNoop, planResource } from '../shared/plan.ts';
import { sameStatus, type WrittenStatuses } from '../shared/written-status.ts';
import { desiredTopic, managedTagKeys, physicalTopicName } from './desired.ts';

export interface EventTopicServices {
  topics: TopicGateway;
  kube: FinalizerClient;
  status: { apply(obj: EventTopic, status: EventTopicStatus): Promise<unknown> };
  recorder: EventRecorder;
  settings: OperatorSettings;
  /** The status last written per topic, newer than the cache until its watch event arrives. */
  written?: WrittenStatuses<EventTopicStatus>;
}

export const reconcileEventTopic: Reconciler<EventTopic, EventTopicServices> = async (req, ctx) => {
  const topic = req.object;
  if (!topic) {
    // Gone: the finalizer already cleaned up, or it never owned anything.
    ctx.written?.forget({ namespace: req.namespace ?? '', name: req.name });
    return done();
  }
  try {
    return await withFinalizer(ctx.kube, topic, FINALIZER, {
      apply: (current) => applyTopic(current, ctx),
      cleanup: (current) => cleanupTopic(current, ctx),
    });
  } catch (error) {
    return settleFailure(ctx, topic, error, failureOf(error), (problem) =>
      // Ready stays as it was once the topic exists: a failed update does not make it unusable.
      writeStatus(ctx, topic, { ready: topic.status?.topicArn ? undefined : problem, synced: problem }),
    );
  }
};

async function applyTopic(
  topic: EventTopic,
  ctx: EventTopicServices & { log: { info: (o: object, m: string) => void } },
): Promise<ReconcileResult> {
  const expectedArn = await ctx.topics.topicArn(physicalTopicName(topic, ctx.settings));
  const desired = desiredTopic(topic, ctx.settings, expectedArn);
  const actual = await ctx.topics.readTopic(desired.name);
  const plan = planResource(desired, actual, topic.status?.managedTagKeys);

  if (plan.action === 'refuse') {
    await writeStatus(ctx, topic, {
      ready: { status: 'False', reason: 'NotOwned', message: plan.message },
      synced: { status: 'False', reason: 'NotOwned', message: plan.message },
      topicName: desired.name,
    });
    ctx.recorder.event(topic, 'Warning', 'NotOwned', plan.message);
    return terminal('NotOwned', plan.message);
  }

  let arn: string;
  if (plan.action === 'create') {
    arn = await ctx.topics.createTopic(
      desired.name,
      { ...desired.createOnly, ...desired.attributes },
      desired.tags,
    );
    ctx.log.info({ topicArn: arn }, 'created SNS topic');
    ctx.recorder.event(topic, 'Normal', 'Created', `Created SNS topic ${desired.name}`);
  } else {
    arn = (actual as TopicState).arn;
    if (!isNoop(plan)) {
      await ctx.topics.setTopicAttributes(arn, plan.attributes);
      if (Object.keys(plan.tags.set).length > 0) await ctx.topics.tagTopic(arn, plan.tags.set);
      if (plan.tags.remove.length > 0) await ctx.topics.untagTopic(arn, plan.tags.remove);
      const changed = changedFields(plan);
      ctx.log.info({ topicArn: arn, changed }, 'updated SNS topic');
      ctx.recorder.event(
        topic,
        'Normal',
        'Updated',
        `Updated SNS topic ${desired.name}: ${changed.join(', ')}`,
      );
    }
  }

  await writeStatus(ctx, topic, {
    ready: { status: 'True', reason: 'Available', message: `SNS topic ${desired.name} exists` },
    synced: { status: 'True', reason: 'Synced', message: 'The SNS topic matches the spec' },
    topicName: desired.name,
    topicArn: arn,
    // Recorded only once the topic carries them, so a failed untag is tried again next time.
    managedTagKeys: managedTagKeys(topic),
  });
  return done();
}

async function cleanupTopic(topic: EventTopic, ctx: EventTopicServices): Promise<ReconcileResult> {
  const desired = desiredTopic(topic, ctx.settings);
  if (topic.spec.deletionPolicy === 'Retain') {
    ctx.recorder.event(
      topic,
      'Normal',
      'Retained',
      `Kept SNS topic ${desired.name} (deletionPolicy: Retain)`,
    );
    return done();
  }
  const actual = await ctx.topics.readTopic(desired.name);
  if (!actual) return done();
  if (ownershipOf(actual.tags, desired.owner) !== 'ours') {
    // Never delete what is not ours; the finalizer goes, the topic stays.
    ctx.recorder.event(
      topic,
      'Warning',
      'NotOwned',
      `Left SNS topic ${desired.name} in place: it is not owned by this EventTopic`,
    );
    return done();
  }
  await ctx.topics.deleteTopic(actual.arn);
  ctx.recorder.event(topic, 'Normal', 'Deleted', `Deleted SNS topic ${desired.name}`);
  return done();
}

async function writeStatus(
  ctx: EventTopicServices,
  topic: EventTopic,
  next: {
    ready: ConditionValue | undefined;
    synced: ConditionValue;
    topicName?: string;
    topicArn?: string;
    managedTagKeys?: string[];
  },
): Promise<void> {
  const stored = ctx.written ? ctx.written.current(topic) : topic.status;
  const status = nextStatus<EventTopicStatus>(
    stored ?? {},
    topic.metadata?.generation,
    // A failure write names neither: what status already records stays.
    {
      ...(next.topicName !== undefined ? { topicName: next.topicName } : {}),
      ...(next.topicArn !== undefined ? { topicArn: next.topicArn } : {}),
      ...(next.managedTagKeys !== undefined ? { managedTagKeys: next.managedTagKeys } : {}),
    },
    [...(next.ready ? [{ type: 'Ready', ...next.ready }] : []), { type: 'Synced', ...next.synced }],
  );
  // Written only when it differs: a resync that finds nothing changed costs the API server nothing.
  if (sameStatus(stored, status)) return;
  await ctx.status.apply(topic, status);
  ctx.written?.record(topic, status);
}
