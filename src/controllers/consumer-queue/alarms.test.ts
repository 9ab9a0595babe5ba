import { describe, expect, it } from 'vitest';
import type { ExistingAlarm } from '../../aws/cloudwatch.ts';
import type { AlarmStatus } from '../../crds/consumer-queue.ts';
import {
  alarmChanges,
  alarmName,
  alarmStateChanges,
  desiredAlarms,
  planAlarms,
  resolveAlarmTopic,
  sortAlarmStatus,
  worstState,
} from './alarms.ts';
import { queueNames } from './desired.ts';
import { ARN, cq, lookupOf, settings, topic } from './testing.ts';

const all = {
  deadLetterNotEmpty: {},
  backlog: { threshold: 100 },
  oldestMessageAge: { thresholdSeconds: 600, minutes: 3 },
};
const existing = (alarm: ExistingAlarm['name'], over: Partial<ExistingAlarm> = {}): ExistingAlarm => {
  const [wanted] = desiredAlarms(
    cq({ alarms: { backlog: { threshold: 100 } } }),
    settings,
    names(),
    undefined,
  );
  if (!wanted) throw new Error('no desired alarm');
  return {
    ...wanted.alarm,
    name: alarm,
    arn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm}`,
    state: { value: 'OK', reason: 'fine' },
    ...over,
  };
};
const names = () => queueNames(cq(), settings);
const recorded = (
  name: string,
  type: AlarmStatus['type'],
  state: AlarmStatus['state'] = 'OK',
): AlarmStatus => ({
  name,
  type,
  state,
});

describe('alarmName', () => {
  it('is <prefix>_<namespace>_<name>_<kind>', () => {
    expect(alarmName(cq(), settings, 'DeadLetterNotEmpty')).toBe('pubsub_shop_payment-orders_dlq-not-empty');
    expect(alarmName(cq(), settings, 'Backlog')).toBe('pubsub_shop_payment-orders_backlog');
    expect(alarmName(cq(), settings, 'OldestMessageAge')).toBe(
      'pubsub_shop_payment-orders_oldest-message-age',
    );
  });

  it('keeps the name status records, so a new prefix orphans nothing', () => {
    const q = cq({}, { alarms: [recorded('old_shop_payment-orders_backlog', 'Backlog')] });
    expect(alarmName(q, settings, 'Backlog')).toBe('old_shop_payment-orders_backlog');
    expect(alarmName(q, settings, 'OldestMessageAge')).toBe('pubsub_shop_payment-orders_oldest-message-age');
  });

  it('stays within 255 characters and unique for the longest namespace and name', () => {
    const long = { ...cq(), metadata: { namespace: 'n'.repeat(63), name: 'a'.repeat(253), uid: 'u' } };
    const other = { ...long, metadata: { ...long.metadata, name: `${'a'.repeat(252)}b` } };
    const name = alarmName(long, settings, 'OldestMessageAge');
    expect(name.length).toBeLessThanOrEqual(255);
    expect(name.startsWith('pubsub_')).toBe(true);
    expect(name).not.toBe(alarmName(other, settings, 'OldestMessageAge'));
  });
});

describe('desiredAlarms', () => {
  it('asks for nothing without spec.alarms', () => {
    expect(desiredAlarms(cq(), settings, names(), undefined)).toEqual([]);
  });

  it('puts each alarm on the right AWS/SQS metric, queue, threshold and minutes', () => {
    const alarms = desiredAlarms(cq({ alarms: all }), settings, names(), undefined);
    expect(alarms.map((a) => [a.type, a.alarm.metricName, a.alarm.dimensions, a.alarm.threshold])).toEqual([
      [
        'DeadLetterNotEmpty',
        'ApproximateNumberOfMessagesVisible',
        { QueueName: 'pubsub_shop_payment-orders_dlq' },
        0,
      ],
      ['Backlog', 'ApproximateNumberOfMessagesVisible', { QueueName: 'pubsub_shop_payment-orders' }, 100],
      ['OldestMessageAge', 'ApproximateAgeOfOldestMessage', { QueueName: 'pubsub_shop_payment-orders' }, 600],
    ]);
    expect(alarms.map((a) => [a.alarm.evaluationPeriods, a.alarm.datapointsToAlarm])).toEqual([
      [1, 1],
      [5, 5],
      [3, 3],
    ]);
    for (const { alarm } of alarms) {
      expect(alarm).toMatchObject({
        namespace: 'AWS/SQS',
        statistic: 'Maximum',
        periodSeconds: 60,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [],
        okActions: [],
      });
      expect(alarm.description).toContain('ConsumerQueue shop/payment-orders');
    }
  });

  it('acts on the topic on ALARM, and on OK too with notifyOnOk', () => {
    const alarmsOf = (notifyOnOk: boolean) =>
      desiredAlarms(
        cq({ alarms: { topicRef: { name: 'alerts' }, notifyOnOk, backlog: { threshold: 1 } } }),
        settings,
        names(),
        ARN('alerts'),
      );
    expect(alarmsOf(false)[0]?.alarm).toMatchObject({ alarmActions: [ARN('alerts')], okActions: [] });
    expect(alarmsOf(true)[0]?.alarm).toMatchObject({
      alarmActions: [ARN('alerts')],
      okActions: [ARN('alerts')],
    });
  });
});

describe('resolveAlarmTopic', () => {
  const withTopic = (ref: Record<string, string>) =>
    cq({ alarms: { topicRef: ref, backlog: { threshold: 1 } } });

  it('needs no topic when none is named', () => {
    expect(resolveAlarmTopic(cq({ alarms: all }), lookupOf())).toEqual({ state: 'none' });
  });

  it('resolves a Ready topic to its ARN, waits for a missing or unready one', () => {
    expect(resolveAlarmTopic(withTopic({ name: 'alerts' }), lookupOf(topic('shop', 'alerts')))).toMatchObject(
      {
        state: 'ready',
        topicArn: ARN('alerts'),
      },
    );
    expect(resolveAlarmTopic(withTopic({ name: 'alerts' }), lookupOf())).toMatchObject({
      state: 'waiting',
      reason: 'TopicNotFound',
    });
    expect(
      resolveAlarmTopic(withTopic({ name: 'alerts' }), lookupOf(topic('shop', 'alerts', { ready: false }))),
    ).toMatchObject({ state: 'waiting', reason: 'TopicNotReady' });
  });

  it('refuses a FIFO topic and a topic of another namespace that does not admit this one', () => {
    expect(
      resolveAlarmTopic(withTopic({ name: 'alerts' }), lookupOf(topic('shop', 'alerts', { fifo: true }))),
    ).toMatchObject({ state: 'refused', reason: 'FifoTopic' });
    const ref = { name: 'alerts', namespace: 'ops' };
    expect(resolveAlarmTopic(withTopic(ref), lookupOf(topic('ops', 'alerts')))).toMatchObject({
      state: 'refused',
      reason: 'TopicNotAllowed',
    });
    // CloudWatch publishes to the topic: consent to consume is not consent to publish.
    expect(
      resolveAlarmTopic(withTopic(ref), lookupOf(topic('ops', 'alerts', { allowed: ['shop'] }))),
    ).toMatchObject({ state: 'refused', reason: 'TopicNotAllowed' });
    expect(
      resolveAlarmTopic(withTopic(ref), lookupOf(topic('ops', 'alerts', { publishers: ['shop'] }))),
    ).toMatchObject({ state: 'ready' });
  });
});

describe('alarmChanges', () => {
  const base = existing('x');
  it('finds nothing between an alarm and itself, with actions in another order', () => {
    const actions = { alarmActions: ['a', 'b'] };
    expect(alarmChanges({ ...base, ...actions }, { ...base, alarmActions: ['b', 'a'] })).toEqual([]);
  });

  it('names each field that differs as PutMetricAlarm does', () => {
    expect(
      alarmChanges(base, {
        ...base,
        threshold: 5,
        evaluationPeriods: 2,
        dimensions: { QueueName: 'other' },
        alarmActions: ['a'],
        treatMissingData: 'missing',
      }),
    ).toEqual(['Dimensions', 'EvaluationPeriods', 'Threshold', 'TreatMissingData', 'AlarmActions']);
  });
});

describe('planAlarms', () => {
  const q = cq({ alarms: { backlog: { threshold: 100 } } });
  const [backlog] = desiredAlarms(q, settings, names(), undefined);
  if (!backlog) throw new Error('no backlog alarm');
  const name = backlog.alarm.name;

  it('creates a missing alarm', () => {
    expect(planAlarms([backlog], [], [])).toEqual([{ action: 'create', desired: backlog }]);
  });

  it('keeps a recorded alarm as it is at no cost, and verifies an unrecorded one once', () => {
    const actual = existing(name);
    expect(planAlarms([backlog], [recorded(name, 'Backlog')], [actual])).toEqual([
      { action: 'keep', desired: backlog, actual, verify: false },
    ]);
    expect(planAlarms([backlog], [], [actual])).toEqual([
      { action: 'keep', desired: backlog, actual, verify: true },
    ]);
  });

  it('updates an alarm that differs and deletes one no longer wanted', () => {
    const changed = existing(name, { threshold: 7 });
    const stale = existing('pubsub_shop_payment-orders_oldest-message-age');
    expect(planAlarms([backlog], [recorded(stale.name, 'OldestMessageAge')], [changed, stale])).toEqual([
      { action: 'update', desired: backlog, actual: changed, changed: ['Threshold'] },
      { action: 'delete', actual: stale },
    ]);
  });
});

describe('alarm states', () => {
  it('worst state: ALARM, then INSUFFICIENT_DATA, then OK', () => {
    expect(worstState([])).toBeUndefined();
    expect(
      worstState([recorded('a', 'Backlog'), recorded('b', 'DeadLetterNotEmpty', 'INSUFFICIENT_DATA')]),
    ).toBe('INSUFFICIENT_DATA');
    expect(
      worstState([
        recorded('a', 'Backlog', 'ALARM'),
        recorded('b', 'DeadLetterNotEmpty', 'INSUFFICIENT_DATA'),
      ]),
    ).toBe('ALARM');
  });

  it('reports a change of state, and a first sighting only in ALARM', () => {
    const before = [recorded('a', 'Backlog'), recorded('b', 'OldestMessageAge', 'ALARM')];
    const after = [
      recorded('a', 'Backlog', 'ALARM'),
      recorded('b', 'OldestMessageAge', 'ALARM'),
      recorded('c', 'DeadLetterNotEmpty', 'ALARM'),
    ];
    expect(alarmStateChanges(before, after).map((c) => [c.alarm.name, c.from])).toEqual([
      ['a', 'OK'],
      ['c', undefined],
    ]);
    expect(alarmStateChanges([], [recorded('a', 'Backlog')])).toEqual([]);
  });

  it('lists status in the order of the types', () => {
    expect(
      sortAlarmStatus([
        recorded('c', 'OldestMessageAge'),
        recorded('a', 'DeadLetterNotEmpty'),
        recorded('b', 'Backlog'),
      ]).map((a) => a.name),
    ).toEqual(['a', 'b', 'c']);
  });
});
