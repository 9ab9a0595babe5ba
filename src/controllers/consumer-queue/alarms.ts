// Pure: the CloudWatch alarms a ConsumerQueue asks for, what to do about the ones that exist, and
// how their states read in status and Events.
import {
  ALARM_NAME_MAX_LENGTH,
  SQS_METRICS_NAMESPACE,
  SQS_QUEUE_DIMENSION,
  type AlarmStateValue,
  type ExistingAlarm,
  type MetricAlarm,
} from '../../aws/cloudwatch.ts';
import { physicalName } from '../../aws/names.ts';
import type { AlarmStatus, ConsumerQueue } from '../../crds/consumer-queue.ts';
import type { OperatorSettings } from '../shared/settings.ts';
import { resolveTopic, type TopicLookup } from '../shared/references.ts';
import type { QueueNames } from './desired.ts';

export type AlarmType = AlarmStatus['type'];

/** Every alarm type, in the order status lists them. */
export const ALARM_TYPES: readonly AlarmType[] = ['DeadLetterNotEmpty', 'Backlog', 'OldestMessageAge'];

/** The last part of each alarm's name. */
export const ALARM_NAME_SUFFIX: Readonly<Record<AlarmType, string>> = {
  DeadLetterNotEmpty: 'dlq-not-empty',
  Backlog: 'backlog',
  OldestMessageAge: 'oldest-message-age',
};

/** SQS publishes its metrics once a minute, so every alarm evaluates one-minute periods. */
const PERIOD_SECONDS = 60;

/**
 * The alarm's name: the one recorded in status (a later change of the operator's prefix never
 * orphans an alarm), else `<prefix>_<namespace>_<name>_<suffix>`, cut and hashed past 255 characters.
 */
export function alarmName(cq: ConsumerQueue, settings: OperatorSettings, type: AlarmType): string {
  return (
    cq.status?.alarms?.find((a) => a.type === type)?.name ??
    physicalName({
      prefix: settings.namePrefix,
      namespace: cq.metadata?.namespace ?? '',
      name: cq.metadata?.name ?? '',
      suffix: ALARM_NAME_SUFFIX[type],
      fifo: false,
      maxLength: ALARM_NAME_MAX_LENGTH,
    })
  );
}

/**
 * The topic the alarms publish to: none asked for, ready (consents to publishing from this
 * namespace, standard, Ready with an ARN), or waiting / refused with the reason.
 */
export type AlarmTopic =
  | { state: 'none' }
  | { state: 'ready'; topicArn: string }
  | { state: 'waiting' | 'refused'; reason: string; message: string };

export function resolveAlarmTopic(cq: ConsumerQueue, lookup: TopicLookup): AlarmTopic {
  const ref = cq.spec.alarms?.topicRef;
  if (!ref) return { state: 'none' };
  // CloudWatch publishes to the topic on this queue's behalf: that needs the publisher consent.
  const resolved = resolveTopic(ref, cq.metadata?.namespace ?? '', 'publish', lookup, (topic, text) =>
    topic.spec.fifo
      ? {
          reason: 'FifoTopic',
          message: `${text} is a FIFO topic; CloudWatch alarm actions publish without a message group id, so they need a standard topic`,
        }
      : undefined,
  );
  if (resolved.state !== 'ready') return resolved;
  if (!resolved.topicReady)
    return {
      state: 'waiting',
      reason: 'TopicNotReady',
      message: `EventTopic ${resolved.key.namespace}/${resolved.key.name} is not Ready yet`,
    };
  return { state: 'ready', topicArn: resolved.topicArn };
}

export interface DesiredAlarm {
  type: AlarmType;
  alarm: MetricAlarm;
}

/**
 * The alarms spec.alarms asks for, each on an AWS/SQS metric of the queue (or of its dead-letter
 * queue) with dimension QueueName. `topicArn` is the action's topic, when there is one.
 */
export function desiredAlarms(
  cq: ConsumerQueue,
  settings: OperatorSettings,
  names: QueueNames,
  topicArn: string | undefined,
): DesiredAlarm[] {
  const spec = cq.spec.alarms;
  if (!spec) return [];
  const owner = `ConsumerQueue ${cq.metadata?.namespace ?? ''}/${cq.metadata?.name ?? ''}`;
  const actions = topicArn ? [topicArn] : [];
  const alarm = (
    type: AlarmType,
    fields: { queue: string; metricName: string; threshold: number; minutes: number; what: string },
  ): DesiredAlarm => ({
    type,
    alarm: {
      name: alarmName(cq, settings, type),
      description: `Managed by pubsub-operator for ${owner}: ${fields.what}.`,
      namespace: SQS_METRICS_NAMESPACE,
      metricName: fields.metricName,
      dimensions: { [SQS_QUEUE_DIMENSION]: fields.queue },
      statistic: 'Maximum',
      periodSeconds: PERIOD_SECONDS,
      evaluationPeriods: fields.minutes,
      datapointsToAlarm: fields.minutes,
      threshold: fields.threshold,
      comparison: 'GreaterThanThreshold',
      // SQS stops publishing for an idle queue: no data means nothing is waiting.
      treatMissingData: 'notBreaching',
      actionsEnabled: true,
      alarmActions: actions,
      okActions: spec.notifyOnOk ? actions : [],
    },
  });
  const minutes = (n: number) => `${n} minute${n === 1 ? '' : 's'}`;
  const { deadLetterNotEmpty: dlq, backlog, oldestMessageAge: age } = spec;
  const wanted: [AlarmType, Parameters<typeof alarm>[1] | undefined][] = [
    [
      'DeadLetterNotEmpty',
      dlq && cq.spec.deadLetter.enabled
        ? {
            queue: names.deadLetter,
            metricName: 'ApproximateNumberOfMessagesVisible',
            threshold: 0,
            minutes: dlq.minutes,
            what: `dead-letter queue ${names.deadLetter} has held messages for ${minutes(dlq.minutes)}`,
          }
        : undefined,
    ],
    [
      'Backlog',
      backlog && {
        queue: names.queue,
        metricName: 'ApproximateNumberOfMessagesVisible',
        threshold: backlog.threshold,
        minutes: backlog.minutes,
        what: `more than ${backlog.threshold} messages have waited in SQS queue ${names.queue} for ${minutes(backlog.minutes)}`,
      },
    ],
    [
      'OldestMessageAge',
      age && {
        queue: names.queue,
        metricName: 'ApproximateAgeOfOldestMessage',
        threshold: age.thresholdSeconds,
        minutes: age.minutes,
        what: `the oldest message in SQS queue ${names.queue} has been older than ${age.thresholdSeconds} s for ${minutes(age.minutes)}`,
      },
    ],
  ];
  return wanted.flatMap(([type, fields]) => (fields ? [alarm(type, fields)] : []));
}

/** Names of every alarm this queue may have: the desired ones and the ones status records. */
export function alarmNamesInScope(
  desired: readonly DesiredAlarm[],
  recorded: readonly AlarmStatus[],
): string[] {
  return [...new Set([...desired.map((d) => d.alarm.name), ...recorded.map((r) => r.name)])];
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** The fields (as PutMetricAlarm names them) in which an existing alarm differs from the desired one. */
export function alarmChanges(desired: MetricAlarm, actual: MetricAlarm): string[] {
  const checks: [string, boolean][] = [
    ['AlarmDescription', desired.description === actual.description],
    ['Namespace', desired.namespace === actual.namespace],
    ['MetricName', desired.metricName === actual.metricName],
    ['Dimensions', sameRecord(desired.dimensions, actual.dimensions)],
    ['Statistic', desired.statistic === actual.statistic],
    ['Period', desired.periodSeconds === actual.periodSeconds],
    ['EvaluationPeriods', desired.evaluationPeriods === actual.evaluationPeriods],
    ['DatapointsToAlarm', desired.datapointsToAlarm === actual.datapointsToAlarm],
    ['Threshold', desired.threshold === actual.threshold],
    ['ComparisonOperator', desired.comparison === actual.comparison],
    ['TreatMissingData', desired.treatMissingData === actual.treatMissingData],
    ['ActionsEnabled', desired.actionsEnabled === actual.actionsEnabled],
    ['AlarmActions', sameList(desired.alarmActions, actual.alarmActions)],
    ['OKActions', sameList(desired.okActions, actual.okActions)],
  ];
  return checks.filter(([, same]) => !same).map(([field]) => field);
}

export type AlarmStep =
  /** Not there: PutMetricAlarm with the ownership tags. */
  | { action: 'create'; desired: DesiredAlarm }
  /** There and different: PutMetricAlarm, once its tags show it is ours. */
  | { action: 'update'; desired: DesiredAlarm; actual: ExistingAlarm; changed: string[] }
  /** There and as wanted; `verify` when status does not record it yet, so its tags must be read once. */
  | { action: 'keep'; desired: DesiredAlarm; actual: ExistingAlarm; verify: boolean }
  /** There but no longer wanted: DeleteAlarms, once its tags show it is ours. */
  | { action: 'delete'; actual: ExistingAlarm };

/**
 * What to do about each alarm in scope. An alarm status records has had its tags checked before,
 * so keeping it as it is costs nothing; every write to an existing alarm checks its tags first.
 */
export function planAlarms(
  desired: readonly DesiredAlarm[],
  recorded: readonly AlarmStatus[],
  existing: readonly ExistingAlarm[],
): AlarmStep[] {
  const byName = new Map(existing.map((a) => [a.name, a]));
  const steps: AlarmStep[] = desired.map((d): AlarmStep => {
    const actual = byName.get(d.alarm.name);
    if (!actual) return { action: 'create', desired: d };
    const changed = alarmChanges(d.alarm, actual);
    if (changed.length > 0) return { action: 'update', desired: d, actual, changed };
    return { action: 'keep', desired: d, actual, verify: !recorded.some((r) => r.name === actual.name) };
  });
  const wanted = new Set(desired.map((d) => d.alarm.name));
  for (const actual of existing) if (!wanted.has(actual.name)) steps.push({ action: 'delete', actual });
  return steps;
}

/** What status says about one alarm of the queue. */
export function alarmStatus(type: AlarmType, alarm: ExistingAlarm): AlarmStatus {
  return {
    name: alarm.name,
    type,
    state: alarm.state.value,
    ...(alarm.state.reason ? { reason: alarm.state.reason } : {}),
    ...(alarm.state.updatedAt ? { updatedAt: alarm.state.updatedAt } : {}),
  };
}

const SEVERITY: Readonly<Record<AlarmStateValue, number>> = { OK: 0, INSUFFICIENT_DATA: 1, ALARM: 2 };

/** ALARM before INSUFFICIENT_DATA before OK; undefined for no alarms. */
export function worstState(alarms: readonly AlarmStatus[]): AlarmStateValue | undefined {
  let worst: AlarmStateValue | undefined;
  for (const { state } of alarms) if (worst === undefined || SEVERITY[state] > SEVERITY[worst]) worst = state;
  return worst;
}

export interface AlarmStateChange {
  alarm: AlarmStatus;
  /** The state status held before; undefined for an alarm status did not list. */
  from: AlarmStateValue | undefined;
}

/**
 * The alarms whose state differs from the one status recorded, for Events. An alarm seen for the
 * first time counts only when it is already in ALARM: a new alarm's first state says nothing.
 */
export function alarmStateChanges(
  previous: readonly AlarmStatus[],
  next: readonly AlarmStatus[],
): AlarmStateChange[] {
  return next.flatMap((alarm) => {
    const before = previous.find((p) => p.name === alarm.name)?.state;
    if (before === alarm.state || (before === undefined && alarm.state !== 'ALARM')) return [];
    return [{ alarm, from: before }];
  });
}

const ORDER = new Map(ALARM_TYPES.map((t, i) => [t, i]));

/** Status entries in a stable order, so an unchanged state never rewrites status. */
export function sortAlarmStatus(alarms: readonly AlarmStatus[]): AlarmStatus[] {
  return [...alarms].sort((a, b) => (ORDER.get(a.type) ?? 0) - (ORDER.get(b.type) ?? 0));
}
