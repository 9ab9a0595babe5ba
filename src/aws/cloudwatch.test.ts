import { describe, expect, it } from 'vitest';
import { ResourceNotFound, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchGateway,
  existingAlarm,
  oldestMessageAgeSeconds,
  publishBacklogPerReplica,
  type MetricAlarm,
} from './cloudwatch.ts';
import { AwsError } from './errors.ts';
import { scriptedClient, type ScriptedHandler } from './scripted-client.ts';

const fakeCloudWatch = (handlers: Record<string, ScriptedHandler>) =>
  scriptedClient<CloudWatchClient>(handlers);
const now = new Date('2026-05-01T12:00:00Z');
const gateway = (handlers: Record<string, ScriptedHandler>) => {
  const { client, sent } = fakeCloudWatch(handlers);
  return { cw: new CloudWatchGateway(client, () => now), sent };
};
const notFound = () => {
  throw new ResourceNotFound({ message: 'no such alarm', $metadata: { httpStatusCode: 404 } });
};

const alarm: MetricAlarm = {
  name: 'pubsub_shop_orders_backlog',
  description: 'backlog',
  namespace: 'AWS/SQS',
  metricName: 'ApproximateNumberOfMessagesVisible',
  dimensions: { QueueName: 'pubsub_shop_orders' },
  statistic: 'Maximum',
  periodSeconds: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: 5,
  threshold: 100,
  comparison: 'GreaterThanThreshold',
  treatMissingData: 'notBreaching',
  actionsEnabled: true,
  alarmActions: ['arn:aws:sns:eu-west-1:111122223333:pubsub_shop_alerts'],
  okActions: [],
};
const arn = 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:pubsub_shop_orders_backlog';
/** `alarm` as the SDK writes it, in PutMetricAlarm's input and DescribeAlarms' output alike. */
const sdkAlarm = {
  AlarmName: 'pubsub_shop_orders_backlog',
  AlarmDescription: 'backlog',
  Namespace: 'AWS/SQS',
  MetricName: 'ApproximateNumberOfMessagesVisible',
  Dimensions: [{ Name: 'QueueName', Value: 'pubsub_shop_orders' }],
  Statistic: 'Maximum',
  Period: 60,
  EvaluationPeriods: 5,
  DatapointsToAlarm: 5,
  Threshold: 100,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'notBreaching',
  ActionsEnabled: true,
  AlarmActions: [...alarm.alarmActions],
  OKActions: [],
} as const;

describe('CloudWatchGateway alarms', () => {
  it('puts an alarm with every field the operator decides, tags included, in one call', async () => {
    const { cw, sent } = gateway({ PutMetricAlarm: () => ({}) });
    await cw.putAlarm(alarm, { team: 'orders' });
    expect(sent).toEqual([
      {
        command: 'PutMetricAlarm',
        input: { ...sdkAlarm, Tags: [{ Key: 'team', Value: 'orders' }] },
      },
    ]);
  });

  it('describes what it puts back as the same alarm, with its state', async () => {
    const { cw, sent } = gateway({
      DescribeAlarms: () => ({
        MetricAlarms: [
          {
            ...sdkAlarm,
            AlarmArn: arn,
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed',
            StateUpdatedTimestamp: new Date('2026-05-01T11:58:00Z'),
          },
        ],
      }),
    });
    const [found] = await cw.describeAlarms([alarm.name, alarm.name, 'pubsub_shop_orders_dlq-not-empty']);
    expect(found).toEqual({
      ...alarm,
      arn,
      state: { value: 'ALARM', reason: 'Threshold Crossed', updatedAt: '2026-05-01T11:58:00.000Z' },
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.input).toMatchObject({
      AlarmNames: [alarm.name, 'pubsub_shop_orders_dlq-not-empty'],
      AlarmTypes: ['MetricAlarm'],
    });
  });

  it('fills in what CloudWatch leaves out with its defaults', () => {
    expect(
      existingAlarm({ AlarmName: 'a', AlarmArn: 'arn:a', EvaluationPeriods: 3, StateValue: 'OK' }),
    ).toMatchObject({
      datapointsToAlarm: 3,
      treatMissingData: 'missing',
      description: '',
      alarmActions: [],
      okActions: [],
      actionsEnabled: true,
      state: { value: 'OK', reason: '' },
    });
    expect(existingAlarm({ AlarmArn: 'arn:a' })).toBeUndefined();
  });

  it('describes no names without a call and many names 100 at a time', async () => {
    const { cw, sent } = gateway({ DescribeAlarms: () => ({ MetricAlarms: [] }) });
    expect(await cw.describeAlarms([])).toEqual([]);
    expect(sent).toHaveLength(0);
    await cw.describeAlarms(Array.from({ length: 150 }, (_, i) => `a${i}`));
    expect(sent.map((s) => (s.input['AlarmNames'] as string[]).length)).toEqual([100, 50]);
  });

  it('follows NextToken', async () => {
    let page = 0;
    const { cw, sent } = gateway({
      DescribeAlarms: () =>
        ++page === 1
          ? { MetricAlarms: [{ AlarmName: 'a', AlarmArn: 'arn:a' }], NextToken: 't' }
          : { MetricAlarms: [{ AlarmName: 'b', AlarmArn: 'arn:b' }] },
    });
    expect((await cw.describeAlarms(['a', 'b'])).map((a) => a.name)).toEqual(['a', 'b']);
    expect(sent[1]?.input['NextToken']).toBe('t');
  });

  it('reads an alarm tags, and a missing alarm as undefined', async () => {
    const { cw } = gateway({ ListTagsForResource: () => ({ Tags: [{ Key: 'k', Value: 'v' }] }) });
    expect(await cw.alarmTags(arn)).toEqual({ k: 'v' });
    expect(await gateway({ ListTagsForResource: notFound }).cw.alarmTags(arn)).toBeUndefined();
  });

  it('tags an alarm, and sends nothing for no tags', async () => {
    const { cw, sent } = gateway({ TagResource: () => ({}) });
    await cw.tagAlarm(arn, {});
    await cw.tagAlarm(arn, { team: 'orders' });
    expect(sent).toEqual([
      { command: 'TagResource', input: { ResourceARN: arn, Tags: [{ Key: 'team', Value: 'orders' }] } },
    ]);
  });

  it('deletes in one call, and one by one when a name of the batch is already gone', async () => {
    const ok = gateway({ DeleteAlarms: () => ({}) });
    await ok.cw.deleteAlarms(['a', 'b']);
    expect(ok.sent.map((s) => s.input)).toEqual([{ AlarmNames: ['a', 'b'] }]);

    const partly = gateway({
      DeleteAlarms: (input) => {
        if ((input['AlarmNames'] as string[]).includes('gone')) notFound();
        return {};
      },
    });
    await partly.cw.deleteAlarms(['a', 'gone']);
    expect(partly.sent.map((s) => s.input)).toEqual([
      { AlarmNames: ['a', 'gone'] },
      { AlarmNames: ['a'] },
      { AlarmNames: ['gone'] },
    ]);
  });

  it('throws AwsError naming the call', async () => {
    const { cw } = gateway({
      PutMetricAlarm: () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} });
      },
    });
    const error = await cw.putAlarm(alarm, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).kind).toBe('retryable');
    expect((error as AwsError).message).toContain('cloudwatch:PutMetricAlarm');
  });
});

describe('CloudWatchGateway metrics', () => {
  it('reads the latest Maximum of the last five minutes of ApproximateAgeOfOldestMessage', async () => {
    const { cw, sent } = gateway({
      GetMetricData: () => ({
        MetricDataResults: [
          {
            Id: 'm',
            Timestamps: [new Date('2026-05-01T11:57:00Z'), new Date('2026-05-01T11:59:00Z')],
            Values: [40, 95],
          },
        ],
      }),
    });
    expect(await oldestMessageAgeSeconds(cw, 'pubsub_shop_orders')).toBe(95);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.input).toEqual({
      StartTime: new Date('2026-05-01T11:55:00Z'),
      EndTime: now,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'm',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: 'pubsub_shop_orders' }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });
  });

  it('asks for whole periods, so a data point keeps its timestamp from call to call', async () => {
    const { client, sent } = scriptedClient<CloudWatchClient>({
      GetMetricData: () => ({ MetricDataResults: [] }),
    });
    const cw = new CloudWatchGateway(client, () => new Date('2026-05-01T12:00:37Z'));
    await oldestMessageAgeSeconds(cw, 'q');
    expect(sent[0]?.input).toMatchObject({
      StartTime: new Date('2026-05-01T11:56:00Z'),
      EndTime: new Date('2026-05-01T12:01:00Z'),
    });
  });

  it('reads no data as undefined', async () => {
    const { cw } = gateway({
      GetMetricData: () => ({ MetricDataResults: [{ Id: 'm', Timestamps: [], Values: [] }] }),
    });
    expect(await oldestMessageAgeSeconds(cw, 'q')).toBeUndefined();
  });

  it('publishes backlog per replica under PubSubOperator with Namespace and Service', async () => {
    const { cw, sent } = gateway({ PutMetricData: () => ({}) });
    await publishBacklogPerReplica(cw, {
      namespace: 'shop',
      service: 'payment',
      value: 2.5,
    });
    expect(sent).toEqual([
      {
        command: 'PutMetricData',
        input: {
          Namespace: 'PubSubOperator',
          MetricData: [
            {
              MetricName: 'BacklogPerReplica',
              Dimensions: [
                { Name: 'Namespace', Value: 'shop' },
                { Name: 'Service', Value: 'payment' },
              ],
              Value: 2.5,
              Unit: 'Count',
              Timestamp: now,
            },
          ],
        },
      },
    ]);
  });

  it('refuses to publish under an AWS namespace or several namespaces at once', async () => {
    const { cw, sent } = gateway({ PutMetricData: () => ({}) });
    const datum = { metricName: 'm', dimensions: {}, value: 1, unit: 'Count' as const };
    await expect(cw.putMetricData([{ ...datum, namespace: 'AWS/SQS' }])).rejects.toThrow(/reserved for AWS/);
    await expect(
      cw.putMetricData([
        { ...datum, namespace: 'A' },
        { ...datum, namespace: 'B' },
      ]),
    ).rejects.toThrow(/one namespace/);
    await cw.putMetricData([]);
    expect(sent).toHaveLength(0);
  });
});
