// I/O edge of the EventTopic controller: read the topic, act on the plan, write status.
import type { TopicGateway, TopicState } from '../../aws/topics.ts';
import { OWNERSHIP_TAG_KEYS, ownershipOf } from '../../aws/ownership.ts';
import type { EventTopic, EventTopicStatus } from '../../crds/index.ts';
import { done, terminal, type ReconcileResult, type Reconciler } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { withFinalizer, type FinalizerClient } from '../../runtime/finalizers.ts';
import { failureOf, nextStatus, settleFailure, type ConditionValue } from '../shared/outcome.ts';
import { FINALIZER, type OperatorSettings } from '../shared/settings.ts';
import { changedFields, isNoop, planResource } from '../shared/plan.ts';
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
import { removeCondition } from '../../runtime/conditions.ts';
import { sameStatus, type WrittenStatuses } from '../shared/written-status.ts';
import type { TagChecks } from '../shared/tag-checks.ts';
import { desiredTopic, managedTagKeys, physicalTopicName } from './desired.ts';

export interface EventTopicServices extends ConnectionServices {
  topics: TopicGateway;
  kube: FinalizerClient & ConnectionServices['kube'];
  status: { apply(obj: EventTopic, status: EventTopicStatus): Promise<unknown> };
  recorder: EventRecorder;
  settings: OperatorSettings;
  /** The status last written per topic, newer than the cache until its watch event arrives. */
  written?: WrittenStatuses<EventTopicStatus>;
  /** When a resync may take the topic's policy as proof of ownership and not read its tags. */
  tagChecks?: TagChecks;
}

export const reconcileEventTopic: Reconciler<EventTopic, EventTopicServices> = async (req, ctx) => {
  if (!req.object) {
    // Gone: the finalizer already cleaned up, or it never owned anything.
    ctx.written?.forget({ namespace: req.namespace ?? '', name: req.name });
    ctx.tagChecks?.forget({ namespace: req.namespace ?? '', name: req.name });
    return done();
  }
  let topic = req.object;
  try {
    // The gate builds on the newest status known (the cache may not hold the last write yet).
    const current: EventTopic = { ...topic, status: ctx.written ? ctx.written.current(topic) : topic.status };
    const gate = await pauseGate(current, {
      recorder: ctx.recorder,
      writeStatus: async (status: EventTopicStatus) => {
        await ctx.status.apply(topic, status);
        ctx.written?.record(topic, status);
      },
    });
    if (gate.paused) return done();
    topic = gate.object;
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
  if (isObserveOnly(topic)) return observeTopic(topic, ctx);
  const expectedArn = await ctx.topics.topicArn(physicalTopicName(topic, ctx.settings));
  const desired = desiredTopic(topic, ctx.settings, expectedArn);
  const adopting = wantsAdoption(topic);
  const claim = ctx.tagChecks?.claimFor(topic, ctx.settings.clusterName, topic.spec.tags, adopting);
  const actual = await ctx.topics.readTopic(desired.name, claim);
  const plan = planResource(desired, actual, topic.status?.managedTagKeys, adopting);

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
    if (plan.action === 'update' && plan.adopted) {
      ctx.log.info({ topicArn: arn }, 'adopting SNS topic');
      ctx.recorder.event(
        topic,
        'Normal',
        'Adopted',
        `Adopted SNS topic ${desired.name}: it carried no ownership tags; it is tagged as this EventTopic's and brought to the spec`,
      );
    }
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
    connection: await syncConnectionDetails(ctx, topic, connectionData(ctx, desired.name, arn)),
  });
  // The tags were read (or set at creation) and are as the spec says now.
  if (!actual?.tagsAssumed) ctx.tagChecks?.checkedNow(topic);
  return done();
}

/** The keys of an EventTopic's connection-details ConfigMap. */
function connectionData(ctx: EventTopicServices, name: string, arn: string): ConnectionData {
  return { TOPIC_ARN: arn, TOPIC_NAME: name, AWS_REGION: ctx.settings.region };
}

/**
 * managementPolicy ObserveOnly: read the topic, whoever owns it, and report; never create, tag or
 * change it. A difference from the spec is Synced=False with reason Drifted, naming each one.
 */
async function observeTopic(
  topic: EventTopic,
  ctx: EventTopicServices & { log: { info: (o: object, m: string) => void } },
): Promise<ReconcileResult> {
  const desired = desiredTopic(topic, ctx.settings);
  const actual = await ctx.topics.readTopic(desired.name);
  if (!actual) {
    const missing = {
      status: 'False' as const,
      reason: 'NotFound',
      message: `SNS topic ${desired.name} does not exist; managementPolicy ObserveOnly never creates it`,
    };
    await writeStatus(ctx, topic, {
      ready: missing,
      synced: missing,
      topicName: desired.name,
      dropArn: true,
      connection: await syncConnectionDetails(ctx, topic, undefined),
    });
    return done();
  }
  const drift = driftOf(desired, actual);
  const { ready, synced } = observedConditions(topic, `SNS topic ${desired.name}`, drift, ctx.recorder);
  await writeStatus(ctx, topic, {
    ready,
    synced,
    topicName: desired.name,
    topicArn: actual.arn,
    connection: await syncConnectionDetails(ctx, topic, connectionData(ctx, desired.name, actual.arn)),
  });
  return done();
}

async function cleanupTopic(topic: EventTopic, ctx: EventTopicServices): Promise<ReconcileResult> {
  const desired = desiredTopic(topic, ctx.settings);
  if (isObserveOnly(topic)) return done(); // never touched, so nothing to undo
  const actual = await ctx.topics.readTopic(desired.name);
  if (topic.spec.deletionPolicy === 'Retain') {
    // Release, the reverse of adoption: the topic stays, without the tags that made it ours, so
    // another object may adopt it (and nothing else will take it without being asked to).
    if (actual && ownershipOf(actual.tags, desired.owner) === 'ours')
      await ctx.topics.untagTopic(actual.arn, OWNERSHIP_TAG_KEYS);
    ctx.recorder.event(
      topic,
      'Normal',
      'Retained',
      `Kept SNS topic ${desired.name} and removed its ownership tags (deletionPolicy: Retain); another object may adopt it`,
    );
    return done();
  }
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
    /** The topic is gone (observed only): status no longer names an ARN. */
    dropArn?: boolean;
    managedTagKeys?: string[];
    /** The ConnectionDetailsReady condition: set, removed (null), or left as it is (absent). */
    connection?: ConditionValue | null;
  },
): Promise<void> {
  const previous = (ctx.written ? ctx.written.current(topic) : topic.status) ?? {};
  const status = nextStatus<EventTopicStatus>(
    {
      ...previous,
      ...(next.dropArn ? { topicArn: undefined } : {}),
      ...(next.connection === null
        ? { conditions: removeCondition(previous.conditions, CONNECTION_CONDITION) }
        : {}),
    },
    topic.metadata?.generation,
    // A failure write names neither: what status already records stays.
    {
      ...(next.topicName !== undefined ? { topicName: next.topicName } : {}),
      ...(next.topicArn !== undefined ? { topicArn: next.topicArn } : {}),
      ...(next.managedTagKeys !== undefined ? { managedTagKeys: next.managedTagKeys } : {}),
    },
    [
      ...(next.ready ? [{ type: 'Ready', ...next.ready }] : []),
      { type: 'Synced', ...next.synced },
      ...(next.connection ? [{ type: CONNECTION_CONDITION, ...next.connection }] : []),
    ],
  );
  // Written only when it differs: a resync that finds nothing changed costs the API server nothing.
  if (sameStatus(previous, status)) return;
  await ctx.status.apply(topic, status);
  ctx.written?.record(topic, status);
}
