// I/O edge of a ConsumerQueue's CloudWatch alarms: read them (one DescribeAlarms for all of the
// queue's alarms), decide with the pure functions of alarms.ts, act, and say what status shows.
import type { AlarmGateway, AlarmStateValue, ExistingAlarm } from '../../aws/cloudwatch.ts';
import {
  adoptable,
  describeOwner,
  OWNERSHIP_TAG_KEYS,
  ownershipOf,
  resourceTags,
  tagChanges,
  type Tags,
} from '../../aws/ownership.ts';
import type { AlarmStatus, ConsumerQueue } from '../../crds/consumer-queue.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Logger } from '../../runtime/logging.ts';
import { wantsAdoption } from '../shared/management.ts';
import { ownerOfObject } from '../shared/plan.ts';
import type { OperatorSettings } from '../shared/settings.ts';
import {
  alarmNamesInScope,
  alarmStateChanges,
  alarmStatus,
  desiredAlarms,
  planAlarms,
  resolveAlarmTopic,
  sortAlarmStatus,
  worstState,
  type AlarmType,
  type DesiredAlarm,
} from './alarms.ts';
import type { TopicLookup } from '../shared/references.ts';
import type { QueueNames } from './desired.ts';

/** The condition that reports on the alarms; present only while the queue has or wants alarms. */
export const ALARMS_CONDITION = 'AlarmsReady';

export interface AlarmContext {
  alarms: AlarmGateway;
  lookupTopic: TopicLookup;
  recorder: EventRecorder;
  settings: OperatorSettings;
  log: Pick<Logger, 'info' | 'warn'>;
}

export interface AlarmCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface AlarmOutcome {
  /** status.alarms; undefined removes it. */
  alarms: AlarmStatus[] | undefined;
  /** status.alarmState; undefined removes it. */
  alarmState: AlarmStateValue | undefined;
  /** The AlarmsReady condition; undefined removes it. */
  condition: AlarmCondition | undefined;
  /** The alarms' topic is not there yet: look again later. */
  waiting: boolean;
}

const NO_ALARMS: AlarmOutcome = {
  alarms: undefined,
  alarmState: undefined,
  condition: undefined,
  waiting: false,
};

function alarmTags(cq: ConsumerQueue, settings: OperatorSettings): Tags {
  return resourceTags(cq.spec.tags, ownerOfObject(cq, settings.clusterName));
}

/** The alarm's tags when its ownership tags name this queue; otherwise why it is not ours. */
async function ownership(
  ctx: AlarmContext,
  cq: ConsumerQueue,
  actual: ExistingAlarm,
): Promise<{ tags: Tags } | { refusal: string }> {
  // An alarm gone since it was described has no tags: it is not ours to touch either.
  const tags = (await ctx.alarms.alarmTags(actual.arn)) ?? {};
  if (ownershipOf(tags, ownerOfObject(cq, ctx.settings.clusterName)) === 'ours') return { tags };
  // Adopted with the queue, on the same consent: tagged as ours by ownedAlarm.
  if (wantsAdoption(cq) && adoptable(tags)) return { tags };
  return { refusal: `${describeOwner('CloudWatch alarm', actual.name, tags)}; it is left untouched` };
}

/**
 * Whether the alarm is ours; if so, sets the desired tags it lacks and removes the user tags the
 * operator applied that spec.tags no longer has (a tag set by hand stays), else records why not.
 */
async function ownedAlarm(
  ctx: AlarmContext,
  cq: ConsumerQueue,
  actual: ExistingAlarm,
  notOwned: string[],
): Promise<boolean> {
  const owned = await ownership(ctx, cq, actual);
  if ('refusal' in owned) {
    notOwned.push(owned.refusal);
    return false;
  }
  const changes = tagChanges(alarmTags(cq, ctx.settings), owned.tags, cq.status?.managedTagKeys ?? []);
  if (Object.keys(changes.set).length > 0) await ctx.alarms.tagAlarm(actual.arn, changes.set);
  if (changes.remove.length > 0) await ctx.alarms.untagAlarm(actual.arn, changes.remove);
  return true;
}

/**
 * Whether the user tags may differ from what the alarms carry: the spec changed since status was
 * written, or the keys applied are not the spec's. Then every alarm's tags are read once.
 */
function tagsMayDiffer(cq: ConsumerQueue): boolean {
  const managed = [...(cq.status?.managedTagKeys ?? [])].sort();
  const wanted = Object.keys(cq.spec.tags ?? {}).sort();
  return (
    cq.metadata?.generation !== cq.status?.observedGeneration ||
    managed.length !== wanted.length ||
    managed.some((k, i) => k !== wanted[i])
  );
}

/** Deletes the alarms that are ours among `candidates`; logs and leaves the others. */
async function deleteOwned(ctx: AlarmContext, cq: ConsumerQueue, candidates: readonly ExistingAlarm[]) {
  const ours: string[] = [];
  for (const actual of candidates) {
    const owned = await ownership(ctx, cq, actual);
    if ('tags' in owned) ours.push(actual.name);
    else
      ctx.log.warn({ alarm: actual.name, reason: owned.refusal }, 'not deleting an alarm that is not ours');
  }
  if (ours.length === 0) return;
  await ctx.alarms.deleteAlarms(ours);
  ctx.log.info({ alarms: ours }, 'deleted CloudWatch alarms');
  ctx.recorder.event(cq, 'Normal', 'Deleted', `Deleted CloudWatch alarm(s) ${ours.join(', ')}`);
}

/**
 * Brings the queue's alarms in line with spec.alarms and reads their state. Costs nothing for a
 * queue that neither wants nor has alarms, and one DescribeAlarms at steady state otherwise.
 */
export async function syncAlarms(
  ctx: AlarmContext,
  cq: ConsumerQueue,
  names: QueueNames,
): Promise<AlarmOutcome> {
  const recorded = cq.status?.alarms ?? [];
  const topic = resolveAlarmTopic(cq, ctx.lookupTopic);
  const desired = desiredAlarms(
    cq,
    ctx.settings,
    names,
    topic.state === 'ready' ? topic.topicArn : undefined,
  );
  const scope = alarmNamesInScope(desired, recorded);
  if (scope.length === 0) return NO_ALARMS;

  // Until the topic of the action resolves, no alarm is created or changed; removals go ahead.
  const hold = topic.state === 'waiting' || topic.state === 'refused';
  const steps = planAlarms(desired, recorded, await ctx.alarms.describeAlarms(scope));
  const notOwned: string[] = [];
  const kept: { type: AlarmType; actual: ExistingAlarm }[] = [];
  const written: DesiredAlarm[] = [];
  const removed: ExistingAlarm[] = [];
  for (const step of steps) {
    if (step.action === 'create') {
      if (hold) continue;
      await ctx.alarms.putAlarm(step.desired.alarm, alarmTags(cq, ctx.settings));
      written.push(step.desired);
      ctx.log.info({ alarm: step.desired.alarm.name }, 'created CloudWatch alarm');
      ctx.recorder.event(cq, 'Normal', 'Created', `Created CloudWatch alarm ${step.desired.alarm.name}`);
    } else if (step.action === 'keep' || (step.action === 'update' && hold)) {
      const verify = step.action === 'update' || step.verify || tagsMayDiffer(cq);
      if (verify && !(await ownedAlarm(ctx, cq, step.actual, notOwned))) continue;
      kept.push({ type: step.desired.type, actual: step.actual });
    } else if (step.action === 'update') {
      if (!(await ownedAlarm(ctx, cq, step.actual, notOwned))) continue;
      await ctx.alarms.putAlarm(step.desired.alarm, {});
      written.push(step.desired);
      const changed = step.changed.join(', ');
      ctx.log.info({ alarm: step.desired.alarm.name, changed }, 'updated CloudWatch alarm');
      ctx.recorder.event(
        cq,
        'Normal',
        'Updated',
        `Updated CloudWatch alarm ${step.desired.alarm.name}: ${changed}`,
      );
    } else {
      removed.push(step.actual);
    }
  }
  await deleteOwned(ctx, cq, removed);

  // The state of what was just written is read again: a new alarm starts in whatever state
  // CloudWatch gives it, and an update may change it.
  const fresh = written.length > 0 ? await ctx.alarms.describeAlarms(written.map((w) => w.alarm.name)) : [];
  const states = [
    ...kept.map((k) => alarmStatus(k.type, k.actual)),
    ...written.flatMap((w) => {
      const found = fresh.find((f) => f.name === w.alarm.name);
      return found ? [alarmStatus(w.type, found)] : [];
    }),
  ];
  const alarms = sortAlarmStatus(states);
  for (const { alarm, from } of alarmStateChanges(recorded, alarms)) {
    const message = `CloudWatch alarm ${alarm.name} (${alarm.type}) is ${alarm.state}${from ? ` (was ${from})` : ''}${alarm.reason ? `: ${alarm.reason}` : ''}`;
    ctx.recorder.event(cq, alarm.state === 'ALARM' ? 'Warning' : 'Normal', 'AlarmStateChanged', message);
  }

  let condition: AlarmCondition | undefined;
  if (notOwned.length > 0) condition = { status: 'False', reason: 'NotOwned', message: notOwned.join('; ') };
  else if (topic.state === 'waiting' || topic.state === 'refused')
    condition = {
      status: 'False',
      reason: topic.reason,
      message: `${topic.message}; the alarms are created or changed once it is`,
    };
  else if (desired.length > 0)
    condition = {
      status: 'True',
      reason: 'AlarmsInPlace',
      message: `${alarms.length} CloudWatch alarm(s) match spec.alarms`,
    };
  if (notOwned.length > 0)
    for (const message of notOwned) ctx.recorder.event(cq, 'Warning', 'NotOwned', message);
  return {
    alarms: alarms.length > 0 ? alarms : undefined,
    alarmState: worstState(alarms),
    condition,
    waiting: topic.state === 'waiting',
  };
}

/**
 * Deletes the queue's alarms (the ones it wants and the ones status records) that are ours; an
 * alarm someone else owns is left alone. No call for a queue without alarms.
 */
/**
 * deletionPolicy Retain: the queue's alarms stay, without their ownership tags (user tags kept), so
 * an object that adopts the queue can adopt them too.
 */
export async function releaseQueueAlarms(
  ctx: AlarmContext,
  cq: ConsumerQueue,
  names: QueueNames,
): Promise<void> {
  const scope = alarmNamesInScope(desiredAlarms(cq, ctx.settings, names, undefined), cq.status?.alarms ?? []);
  if (scope.length === 0) return;
  for (const alarm of await ctx.alarms.describeAlarms(scope)) {
    const owned = await ownership(ctx, cq, alarm);
    if ('tags' in owned) await ctx.alarms.untagAlarm(alarm.arn, OWNERSHIP_TAG_KEYS);
  }
}

export async function deleteQueueAlarms(
  ctx: AlarmContext,
  cq: ConsumerQueue,
  names: QueueNames,
): Promise<void> {
  const scope = alarmNamesInScope(desiredAlarms(cq, ctx.settings, names, undefined), cq.status?.alarms ?? []);
  if (scope.length === 0) return;
  await deleteOwned(ctx, cq, await ctx.alarms.describeAlarms(scope));
}
