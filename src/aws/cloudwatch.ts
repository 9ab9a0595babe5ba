// CloudWatch reduced to what the controllers need: metric alarms on a queue's AWS/SQS metrics
// (describe, put, tag, delete), one metric read (the latest Maximum of a metric over a short window)
// and custom metrics published in the operator's own namespace. Every failure is an AwsError.
import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type CloudWatchClient,
  type MetricAlarm as SdkMetricAlarm,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import { AwsError, guarded, unlessNotFound, type CallContext } from './errors.ts';
import type { Tags } from './ownership.ts';

/** Where SQS publishes its queue metrics; the only dimension is QueueName. */
export const SQS_METRICS_NAMESPACE = 'AWS/SQS';
export const SQS_QUEUE_DIMENSION = 'QueueName';
/** The namespace of the operator's own metrics (its IAM policy allows PutMetricData only under it). */
export const OPERATOR_METRICS_NAMESPACE = 'PubSubOperator';
/** Messages waiting per replica of an EcommerceService: the metric AWS suggests scaling queue workers on. */
export const BACKLOG_PER_REPLICA_METRIC = 'BacklogPerReplica';
/** CloudWatch alarm names: 1 to 255 characters. */
export const ALARM_NAME_MAX_LENGTH = 255;
/** DescribeAlarms and DeleteAlarms take at most 100 names per call. */
const NAMES_PER_CALL = 100;

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type AlarmStatistic = 'Maximum' | 'Minimum' | 'Average' | 'Sum' | 'SampleCount';
export type AlarmComparison =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
export type MissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** An alarm on one metric against a static threshold: every field PutMetricAlarm gets from the operator. */
export interface MetricAlarm {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Readonly<Record<string, string>>;
  statistic: AlarmStatistic;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: AlarmComparison;
  treatMissingData: MissingData;
  actionsEnabled: boolean;
  alarmActions: readonly string[];
  okActions: readonly string[];
}

export interface AlarmState {
  value: AlarmStateValue;
  reason: string;
  /** When the state last changed (RFC 3339), as CloudWatch reports it. */
  updatedAt?: string;
}

/** An alarm as DescribeAlarms reports it, with CloudWatch's defaults filled in. */
export interface ExistingAlarm extends MetricAlarm {
  arn: string;
  state: AlarmState;
}

export interface AlarmGateway {
  /** The metric alarms among `names` that exist: one DescribeAlarms per 100 names, none for no names. */
  describeAlarms(names: readonly string[]): Promise<ExistingAlarm[]>;
  /**
   * PutMetricAlarm: creates the alarm with `tags`, or replaces the whole configuration of an
   * existing one (CloudWatch then ignores `tags` and keeps the alarm's state).
   */
  putAlarm(alarm: MetricAlarm, tags: Tags): Promise<void>;
  /** ListTagsForResource on the alarm's ARN; undefined when there is no such alarm. */
  alarmTags(arn: string): Promise<Tags | undefined>;
  tagAlarm(arn: string, tags: Tags): Promise<void>;
  /** UntagResource; nothing for no keys. */
  untagAlarm(arn: string, keys: readonly string[]): Promise<void>;
  /** DeleteAlarms, 100 names per call; an alarm already gone counts as deleted. */
  deleteAlarms(names: readonly string[]): Promise<void>;
}

/** One metric, by namespace, name and dimensions. */
export interface MetricId {
  namespace: string;
  metricName: string;
  dimensions: Readonly<Record<string, string>>;
}

export interface MetricDatum extends MetricId {
  value: number;
  unit: StandardUnit;
  timestamp?: Date;
}

/** One data point of a metric: its value and the start of its period (ms since the epoch). */
export interface MetricPoint {
  value: number;
  at: number;
}

export interface MetricGateway {
  /**
   * The Maximum of the most recent period with data within the last `windowSeconds`, with that
   * period's timestamp, read with one GetMetricData call; undefined when the metric has no data in
   * the window.
   */
  latestMaximum(
    metric: MetricId,
    options?: { windowSeconds?: number; periodSeconds?: number },
  ): Promise<MetricPoint | undefined>;
  /** One PutMetricData for all of `data`, which must share a namespace outside `AWS/`. */
  putMetricData(data: readonly MetricDatum[]): Promise<void>;
}

const cloudwatch = (operation: string, resource?: string): CallContext => ({
  service: 'cloudwatch',
  operation,
  ...(resource === undefined ? {} : { resource }),
});

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const asDimensions = (dimensions: Readonly<Record<string, string>>) =>
  Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Name, Value]) => ({ Name, Value }));

/** DescribeAlarms' answer for one alarm, with what CloudWatch leaves out meaning its default. */
export function existingAlarm(alarm: SdkMetricAlarm): ExistingAlarm | undefined {
  if (!alarm.AlarmName || !alarm.AlarmArn) return undefined;
  const evaluationPeriods = alarm.EvaluationPeriods ?? 1;
  return {
    arn: alarm.AlarmArn,
    name: alarm.AlarmName,
    description: alarm.AlarmDescription ?? '',
    namespace: alarm.Namespace ?? '',
    metricName: alarm.MetricName ?? '',
    dimensions: Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
    statistic: alarm.Statistic ?? 'Maximum',
    periodSeconds: alarm.Period ?? 0,
    evaluationPeriods,
    datapointsToAlarm: alarm.DatapointsToAlarm ?? evaluationPeriods,
    threshold: alarm.Threshold ?? 0,
    comparison: (alarm.ComparisonOperator ?? 'GreaterThanThreshold') as AlarmComparison,
    treatMissingData: (alarm.TreatMissingData ?? 'missing') as MissingData,
    actionsEnabled: alarm.ActionsEnabled ?? true,
    alarmActions: [...(alarm.AlarmActions ?? [])],
    okActions: [...(alarm.OKActions ?? [])],
    state: {
      value: alarm.StateValue ?? 'INSUFFICIENT_DATA',
      reason: alarm.StateReason ?? '',
      ...(alarm.StateUpdatedTimestamp ? { updatedAt: alarm.StateUpdatedTimestamp.toISOString() } : {}),
    },
  };
}

export class CloudWatchGateway implements AlarmGateway, MetricGateway {
  private readonly client: Pick<CloudWatchClient, 'send'>;
  private readonly now: () => Date;

  constructor(client: Pick<CloudWatchClient, 'send'>, now: () => Date = () => new Date()) {
    this.client = client;
    this.now = now;
  }

  async describeAlarms(names: readonly string[]): Promise<ExistingAlarm[]> {
    const found: ExistingAlarm[] = [];
    for (const batch of chunks([...new Set(names)], NAMES_PER_CALL)) {
      let token: string | undefined;
      do {
        const page = await guarded(cloudwatch('DescribeAlarms', batch.join(', ')), () =>
          this.client.send(
            new DescribeAlarmsCommand({
              AlarmNames: batch,
              AlarmTypes: ['MetricAlarm'],
              MaxRecords: NAMES_PER_CALL,
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        );
        for (const alarm of page.MetricAlarms ?? []) {
          const existing = existingAlarm(alarm);
          if (existing) found.push(existing);
        }
        token = page.NextToken;
      } while (token);
    }
    return found;
  }

  async putAlarm(alarm: MetricAlarm, tags: Tags): Promise<void> {
    await guarded(cloudwatch('PutMetricAlarm', alarm.name), () =>
      this.client.send(
        new PutMetricAlarmCommand({
          AlarmName: alarm.name,
          AlarmDescription: alarm.description,
          Namespace: alarm.namespace,
          MetricName: alarm.metricName,
          Dimensions: asDimensions(alarm.dimensions),
          Statistic: alarm.statistic,
          Period: alarm.periodSeconds,
          EvaluationPeriods: alarm.evaluationPeriods,
          DatapointsToAlarm: alarm.datapointsToAlarm,
          Threshold: alarm.threshold,
          ComparisonOperator: alarm.comparison,
          TreatMissingData: alarm.treatMissingData,
          ActionsEnabled: alarm.actionsEnabled,
          AlarmActions: [...alarm.alarmActions],
          OKActions: [...alarm.okActions],
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
  }

  async alarmTags(arn: string): Promise<Tags | undefined> {
    const listed = await unlessNotFound(cloudwatch('ListTagsForResource', arn), () =>
      this.client.send(new ListTagsForResourceCommand({ ResourceARN: arn })),
    );
    if (!listed) return undefined;
    return Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async tagAlarm(arn: string, tags: Tags): Promise<void> {
    if (Object.keys(tags).length === 0) return;
    await guarded(cloudwatch('TagResource', arn), () =>
      this.client.send(
        new TagResourceCommand({
          ResourceARN: arn,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
  }

  async untagAlarm(arn: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await guarded(cloudwatch('UntagResource', arn), () =>
      this.client.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: [...keys] })),
    );
  }

  async deleteAlarms(names: readonly string[]): Promise<void> {
    for (const batch of chunks([...new Set(names)], NAMES_PER_CALL)) {
      try {
        await guarded(cloudwatch('DeleteAlarms', batch.join(', ')), () =>
          this.client.send(new DeleteAlarmsCommand({ AlarmNames: batch })),
        );
      } catch (error) {
        if (!(error instanceof AwsError) || error.kind !== 'notFound') throw error;
        // One missing name makes CloudWatch delete none of the batch: delete them one by one.
        for (const name of batch)
          await unlessNotFound(cloudwatch('DeleteAlarms', name), () =>
            this.client.send(new DeleteAlarmsCommand({ AlarmNames: [name] })),
          );
      }
    }
  }

  async latestMaximum(
    metric: MetricId,
    { windowSeconds = 300, periodSeconds = 60 }: { windowSeconds?: number; periodSeconds?: number } = {},
  ): Promise<MetricPoint | undefined> {
    // Start and end on period boundaries, as CloudWatch recommends: each period, and so each data
    // point's timestamp, is then the same at every call, and a reader can tell a new point from one
    // seen (an endpoint that counts periods from StartTime would otherwise shift them at every call).
    const periodMs = periodSeconds * 1000;
    const end = new Date(Math.ceil(this.now().getTime() / periodMs) * periodMs);
    const start = new Date(end.getTime() - windowSeconds * 1000);
    const answer = await guarded(
      cloudwatch('GetMetricData', `${metric.namespace} ${metric.metricName}`),
      () =>
        this.client.send(
          new GetMetricDataCommand({
            StartTime: start,
            EndTime: end,
            ScanBy: 'TimestampDescending',
            MetricDataQueries: [
              {
                Id: 'm',
                ReturnData: true,
                MetricStat: {
                  Metric: {
                    Namespace: metric.namespace,
                    MetricName: metric.metricName,
                    Dimensions: asDimensions(metric.dimensions),
                  },
                  Period: periodSeconds,
                  Stat: 'Maximum',
                },
              },
            ],
          }),
        ),
    );
    const result = answer.MetricDataResults?.find((r) => r.Id === 'm');
    const points = (result?.Timestamps ?? [])
      .map((t, i) => ({ at: new Date(t).getTime(), value: result?.Values?.[i] }))
      .filter(
        (p): p is { at: number; value: number } => typeof p.value === 'number' && Number.isFinite(p.value),
      );
    // Newest first was asked for; sorting keeps the answer right should an endpoint ignore ScanBy.
    points.sort((a, b) => b.at - a.at);
    return points[0];
  }

  async putMetricData(data: readonly MetricDatum[]): Promise<void> {
    const namespaces = new Set(data.map((d) => d.namespace));
    if (namespaces.size === 0) return;
    const [namespace] = [...namespaces];
    if (namespaces.size > 1 || namespace === undefined)
      throw new Error(`PutMetricData takes one namespace per call, got ${[...namespaces].join(', ')}`);
    if (namespace.startsWith('AWS/'))
      throw new Error(`metric namespace ${namespace} is reserved for AWS; custom metrics cannot use it`);
    const at = this.now();
    await guarded(cloudwatch('PutMetricData', namespace), () =>
      this.client.send(
        new PutMetricDataCommand({
          Namespace: namespace,
          MetricData: data.map((d) => ({
            MetricName: d.metricName,
            Dimensions: asDimensions(d.dimensions),
            Value: d.value,
            Unit: d.unit,
            Timestamp: d.timestamp ?? at,
          })),
        }),
      ),
    );
  }
}

/** The AWS/SQS metric of one queue. */
export const sqsQueueMetric = (metricName: string, queueName: string): MetricId => ({
  namespace: SQS_METRICS_NAMESPACE,
  metricName,
  dimensions: { [SQS_QUEUE_DIMENSION]: queueName },
});

/**
 * The age of the oldest message in a queue, in seconds, from CloudWatch (ApproximateAgeOfOldestMessage,
 * Maximum, latest one-minute period of the last five minutes); undefined when SQS has published none
 * (SQS publishes it only while the queue holds messages).
 */
export async function oldestMessageAgeSeconds(
  metrics: MetricGateway,
  queueName: string,
): Promise<number | undefined> {
  return (await oldestMessageAge(metrics, queueName))?.value;
}

/** The same, with the timestamp of the data point, so a reader can tell a new point from one seen. */
export function oldestMessageAge(
  metrics: MetricGateway,
  queueName: string,
): Promise<MetricPoint | undefined> {
  return metrics.latestMaximum(sqsQueueMetric('ApproximateAgeOfOldestMessage', queueName), {
    windowSeconds: 300,
    periodSeconds: 60,
  });
}

export interface BacklogPerReplica {
  /** Kubernetes namespace of the EcommerceService. */
  namespace: string;
  /** Name of the EcommerceService (which consumes one queue, so it names the queue too). */
  service: string;
  /** Messages counted as backlog divided by the replicas that work on them (at least one). */
  value: number;
  timestamp?: Date;
}

/**
 * Publishes backlog per replica: `PubSubOperator` / `BacklogPerReplica` with the dimensions
 * Namespace and Service, unit Count.
 */
export function publishBacklogPerReplica(
  metrics: MetricGateway,
  sample: BacklogPerReplica,
  namespace: string = OPERATOR_METRICS_NAMESPACE,
): Promise<void> {
  return metrics.putMetricData([
    {
      namespace,
      metricName: BACKLOG_PER_REPLICA_METRIC,
      dimensions: { Namespace: sample.namespace, Service: sample.service },
      value: sample.value,
      unit: 'Count',
      ...(sample.timestamp ? { timestamp: sample.timestamp } : {}),
    },
  ]);
}
