// CloudWatch alarms of ConsumerQueues and the operator's CloudWatch metrics, with the real operator
// process against the bed's kube-apiserver and moto: alarms created, changed, removed, retained and
// left alone when someone else owns them; their state in status, `kubectl get -o wide` and Events;
// backlog per replica published and the age of the oldest message read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import {
  CloudWatchGateway,
  oldestMessageAgeSeconds,
  publishBacklogPerReplica,
} from '../../src/aws/cloudwatch.ts';
import { createCloudWatchClient, type AwsSettings } from '../../src/aws/config.ts';
import type { AlarmStatus } from '../../src/crds/consumer-queue.ts';
import { awsClientConfig, bedEnv, eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl, objectOf, tryCreate } from './support/crds.ts';
import {
  applyObject,
  conditionOf,
  deleteAll,
  deleteObject,
  getObject,
  queueUrl,
  sqs,
  waitForCondition,
  waitGone,
  type Resource,
} from './support/controllers.ts';
import { alarmTags, cloudwatch, describeAlarm, eventsAbout } from './support/cloudwatch.ts';
import { backlogPerReplica } from './support/ecommerce.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('alarms');
const cluster = uniqueName('alarms');
const alarmName = (queue: string, kind: string) => `pubsub_${ns}_${queue}_${kind}`;
const queueName = (queue: string, suffix = '') => `pubsub_${ns}_${queue}${suffix}`;
let operator: OperatorProcess;

beforeAll(async () => {
  // The operator resyncs every 10 s (startOperator's setting): alarm states show within that.
  operator = await startOperator({
    namespaces: [ns],
    clusterName: cluster,
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
});

const alarmsOf = (obj: Resource | undefined) => (obj?.status?.['alarms'] ?? []) as AlarmStatus[];

/** Waits until status.alarms satisfies `test` for the current generation. */
async function waitForAlarms(
  name: string,
  test: (alarms: AlarmStatus[], obj: Resource) => boolean,
  what: string,
) {
  return eventually(
    async () => {
      const obj = await getObject(ns, 'consumerqueues', name);
      const fresh = obj?.status?.observedGeneration === obj?.metadata.generation;
      return obj && fresh && test(alarmsOf(obj), obj) ? obj : undefined;
    },
    { timeoutMs: 60_000, what },
  );
}

describe('admission of spec.alarms', () => {
  it('refuses what CloudWatch or the queue cannot do', async () => {
    const refusal = (spec: unknown) =>
      tryCreate(ns, 'consumerqueues', objectOf('consumerqueues', 'refused', spec));
    expect(await refusal({ deadLetter: { enabled: false }, alarms: { deadLetterNotEmpty: {} } })).toContain(
      'alarms.deadLetterNotEmpty needs a dead-letter queue',
    );
    expect(await refusal({ alarms: { notifyOnOk: true, backlog: { threshold: 1 } } })).toContain(
      'alarms.notifyOnOk needs alarms.topicRef',
    );
    expect(await refusal({ alarms: { backlog: { threshold: 1, minutes: 1441 } } })).toMatch(/minutes/);
    expect(await refusal({ alarms: { oldestMessageAge: { thresholdSeconds: 0 } } })).toMatch(
      /thresholdSeconds/,
    );
    expect(await refusal({ alarms: { backlog: {} } })).toMatch(/threshold/);
    expect(await refusal({ alarms: { backlog: { threshold: 1 } } })).toBeUndefined();

    const service = (engine: string) =>
      tryCreate(
        ns,
        'ecommerceservices',
        objectOf('ecommerceservices', 'svc', {
          image: 'example/svc:1',
          consumes: { queueRef: { name: 'q' } },
          scaling: { engine, queueDepth: { publishBacklogMetric: true } },
        }),
      );
    expect(await service('KEDA')).toContain('publishBacklogMetric applies only with engine Builtin');
    expect(await service('Builtin')).toBeUndefined();
  });
});

describe('alarms of a ConsumerQueue', () => {
  const name = 'orders';
  const backlog = alarmName(name, 'backlog');
  const dlq = alarmName(name, 'dlq-not-empty');
  const age = alarmName(name, 'oldest-message-age');
  let topicArn = '';

  it('become CloudWatch alarms on the AWS/SQS metrics, with the ownership tags and the topic as action', async () => {
    applyObject(ns, 'eventtopics', 'alerts', {});
    topicArn = String(
      (await waitForCondition(ns, 'eventtopics', 'alerts', 'Ready', 'True')).status?.['topicArn'],
    );
    applyObject(ns, 'consumerqueues', name, {
      alarms: {
        topicRef: { name: 'alerts' },
        notifyOnOk: true,
        deadLetterNotEmpty: {},
        backlog: { threshold: 50, minutes: 3 },
        oldestMessageAge: { thresholdSeconds: 300, minutes: 2 },
      },
    });
    const queue = await waitForCondition(ns, 'consumerqueues', name, 'AlarmsReady', 'True');
    expect(conditionOf(queue, 'Ready')?.status).toBe('True');

    const expected = [
      [dlq, queueName(name, '_dlq'), 'ApproximateNumberOfMessagesVisible', 0, 1],
      [backlog, queueName(name), 'ApproximateNumberOfMessagesVisible', 50, 3],
      [age, queueName(name), 'ApproximateAgeOfOldestMessage', 300, 2],
    ] as const;
    for (const [alarm, queueDimension, metric, threshold, minutes] of expected) {
      const found = await describeAlarm(alarm);
      expect(found, alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: metric,
        Dimensions: [{ Name: 'QueueName', Value: queueDimension }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: minutes,
        DatapointsToAlarm: minutes,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicArn],
        OKActions: [topicArn],
      });
      expect(await alarmTags(found?.AlarmArn ?? '')).toMatchObject({
        'pubsub.ecommerce.io/managed-by': 'pubsub-operator',
        'pubsub.ecommerce.io/cluster': cluster,
        'pubsub.ecommerce.io/namespace': ns,
        'pubsub.ecommerce.io/name': name,
        'pubsub.ecommerce.io/uid': queue.metadata.uid,
      });
    }
    expect(alarmsOf(queue).map((a) => [a.type, a.name])).toEqual([
      ['DeadLetterNotEmpty', dlq],
      ['Backlog', backlog],
      ['OldestMessageAge', age],
    ]);
  });

  it('show their worst state in `kubectl get cq -o wide`, and status in `kubectl describe`', () => {
    const wide = kubectl(['get', 'cq', name, '-n', ns, '-o', 'wide']);
    const [header = '', row = ''] = wide.trim().split('\n');
    expect(header).toMatch(/\bALARMS\b/);
    const column = header.indexOf('ALARMS');
    expect(row.slice(column).split(/\s+/)[0]).toMatch(/^(OK|INSUFFICIENT_DATA|ALARM)$/);
    expect(kubectl(['get', 'cq', name, '-n', ns])).not.toMatch(/ALARMS/);
    const described = kubectl(['describe', 'cq', name, '-n', ns]);
    expect(described).toContain(backlog);
    expect(described).toContain('Alarm State:');
  });

  it('report a state change (SetAlarmState) in status, the column and an Event', async () => {
    await cloudwatch().send(
      new SetAlarmStateCommand({
        AlarmName: backlog,
        StateValue: 'ALARM',
        StateReason: 'backlog test: too many',
      }),
    );
    const alarmed = await waitForAlarms(
      name,
      (alarms) => alarms.find((a) => a.name === backlog)?.state === 'ALARM',
      'the backlog alarm in ALARM in status',
    );
    expect(alarmed.status?.['alarmState']).toBe('ALARM');
    expect(alarmsOf(alarmed).find((a) => a.name === backlog)).toMatchObject({
      type: 'Backlog',
      reason: 'backlog test: too many',
    });
    expect(kubectl(['get', 'cq', name, '-n', ns, '-o', 'wide'])).toMatch(/\bALARM\b/);
    await eventually(
      () =>
        Promise.resolve(
          eventsAbout(ns, name).find(
            (e) =>
              e.reason === 'AlarmStateChanged' &&
              e.type === 'Warning' &&
              e.note.includes(`${backlog} (Backlog) is ALARM`),
          ),
        ),
      { what: 'a Warning event about the alarm' },
    );

    await cloudwatch().send(
      new SetAlarmStateCommand({ AlarmName: backlog, StateValue: 'OK', StateReason: 'drained' }),
    );
    await waitForAlarms(name, (alarms) => alarms.every((a) => a.state !== 'ALARM'), 'no alarm in ALARM');
    await eventually(
      () =>
        Promise.resolve(
          eventsAbout(ns, name).find(
            (e) => e.reason === 'AlarmStateChanged' && e.type === 'Normal' && e.note.includes('is OK'),
          ),
        ),
      { what: 'a Normal event about the alarm back to OK' },
    );
  });

  it('change with the spec, and the one removed from the spec is deleted', async () => {
    applyObject(ns, 'consumerqueues', name, {
      alarms: { deadLetterNotEmpty: {}, backlog: { threshold: 80, minutes: 10 } },
    });
    await waitForAlarms(name, (alarms) => alarms.length === 2, 'two alarms in status');
    const changed = await describeAlarm(backlog);
    expect(changed).toMatchObject({ Threshold: 80, EvaluationPeriods: 10, AlarmActions: [], OKActions: [] });
    expect(await describeAlarm(age)).toBeUndefined();
    expect(eventsAbout(ns, name).some((e) => e.reason === 'Updated' && e.note.includes(backlog))).toBe(true);
  });

  it('go away with the queue', async () => {
    await deleteObject(ns, 'consumerqueues', name);
    await waitGone(ns, 'consumerqueues', name);
    expect(await describeAlarm(backlog)).toBeUndefined();
    expect(await describeAlarm(dlq)).toBeUndefined();
    expect(await queueUrl(queueName(name))).toBeUndefined();
  });
});

describe('alarms the operator does not own', () => {
  it('are left untouched, with a condition that says whose they are, also when the queue goes', async () => {
    const name = 'foreign';
    const alarm = alarmName(name, 'backlog');
    await cloudwatch().send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: 'someone-elses-queue' }],
        Statistic: 'Average',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Tags: [{ Key: 'team', Value: 'ops' }],
      }),
    );
    try {
      applyObject(ns, 'consumerqueues', name, { alarms: { backlog: { threshold: 10 } } });
      const queue = await waitForCondition(ns, 'consumerqueues', name, 'AlarmsReady', 'False', 'NotOwned');
      expect(conditionOf(queue, 'AlarmsReady')?.message).toContain(
        `CloudWatch alarm ${alarm} already exists`,
      );
      // The queue is usable (its URL is recorded), but not Ready while its alarms are not in place.
      expect(conditionOf(queue, 'Ready')).toMatchObject({ status: 'False', reason: 'NotOwned' });
      expect(queue.status?.['queueUrl']).toBeDefined();
      expect(conditionOf(queue, 'Synced')?.status).toBe('True');
      expect(alarmsOf(queue)).toEqual([]);
      expect(await describeAlarm(alarm)).toMatchObject({ Threshold: 1, Period: 300, Statistic: 'Average' });
      expect(eventsAbout(ns, name).some((e) => e.reason === 'NotOwned' && e.type === 'Warning')).toBe(true);

      await deleteObject(ns, 'consumerqueues', name);
      await waitGone(ns, 'consumerqueues', name);
      const after = await describeAlarm(alarm);
      expect(after).toMatchObject({ Threshold: 1 });
      expect(await alarmTags(after?.AlarmArn ?? '')).toEqual({ team: 'ops' });
    } finally {
      await cloudwatch().send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }));
    }
  });
});

describe('deletionPolicy Retain', () => {
  it('keeps the alarms with the queue', async () => {
    const name = 'kept';
    const alarm = alarmName(name, 'backlog');
    applyObject(ns, 'consumerqueues', name, {
      deletionPolicy: 'Retain',
      alarms: { backlog: { threshold: 10 } },
    });
    await waitForCondition(ns, 'consumerqueues', name, 'AlarmsReady', 'True');
    await deleteObject(ns, 'consumerqueues', name);
    await waitGone(ns, 'consumerqueues', name);
    expect(await describeAlarm(alarm)).toMatchObject({ Threshold: 10 });
    // Clean up what Retain left behind.
    await cloudwatch().send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }));
    for (const queue of [queueName(name), queueName(name, '_dlq')]) {
      const url = await queueUrl(queue);
      if (url) await sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
    }
  });
});

describe('CloudWatch metrics through the gateway', () => {
  const env = bedEnv();
  const settings: AwsSettings = {
    region: env['AWS_REGION'] ?? 'us-east-1',
    endpoint: env['AWS_ENDPOINT_URL'] ?? '',
    retryMode: 'standard',
    maxAttempts: 3,
    connectTimeoutMs: 3_000,
    requestTimeoutMs: 30_000,
  };
  // The bed's credentials, not whatever the shell running the tests has.
  const gateway = () =>
    new CloudWatchGateway(createCloudWatchClient(settings, { credentials: awsClientConfig().credentials }));

  it('publishes backlog per replica under PubSubOperator, read back with GetMetricData', async () => {
    const service = uniqueName('payment');
    await publishBacklogPerReplica(gateway(), {
      namespace: ns,
      service,
      value: 12.5,
    });
    expect(await backlogPerReplica(ns, service)).toEqual([12.5]);
  });

  it('reads the age of the oldest message from AWS/SQS ApproximateAgeOfOldestMessage', async () => {
    const queue = uniqueName('aged');
    expect(await oldestMessageAgeSeconds(gateway(), queue)).toBeUndefined();
    await cloudwatch().send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SQS',
        MetricData: [
          {
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: queue }],
            Value: 420,
            Unit: 'Seconds',
            Timestamp: new Date(Date.now() - 30_000),
          },
        ],
      }),
    );
    expect(await oldestMessageAgeSeconds(gateway(), queue)).toBe(420);
  });
});
