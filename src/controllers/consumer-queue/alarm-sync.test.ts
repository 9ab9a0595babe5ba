import { describe, expect, it } from 'vitest';
import type { AlarmGateway, AlarmStateValue, ExistingAlarm, MetricAlarm } from '../../aws/cloudwatch.ts';
import { ownershipTags, type Tags } from '../../aws/ownership.ts';
import type { ConsumerQueue } from '../../crds/index.ts';
import { silentLogger } from '../../runtime/logging.ts';
import { deleteQueueAlarms, syncAlarms, type AlarmContext } from './alarm-sync.ts';
import { desiredAlarms } from './alarms.ts';
import { queueNames } from './desired.ts';
import { ARN, cq, lookupOf, settings, topic } from './testing.ts';

/** CloudWatch in memory: alarms by name, with tags and state; every call is recorded. */
class FakeAlarms implements AlarmGateway {
  readonly alarms = new Map<string, { alarm: MetricAlarm; tags: Tags; state: AlarmStateValue }>();
  readonly calls: string[] = [];

  describeAlarms(names: readonly string[]): Promise<ExistingAlarm[]> {
    this.calls.push('DescribeAlarms');
    return Promise.resolve(
      names.flatMap((name) => {
        const found = this.alarms.get(name);
        return found
          ? [{ ...found.alarm, arn: `arn:alarm:${name}`, state: { value: found.state, reason: 'because' } }]
          : [];
      }),
    );
  }
  putAlarm(alarm: MetricAlarm, tags: Tags): Promise<void> {
    this.calls.push('PutMetricAlarm');
    const before = this.alarms.get(alarm.name);
    this.alarms.set(alarm.name, {
      alarm,
      tags: before?.tags ?? tags,
      state: before?.state ?? 'INSUFFICIENT_DATA',
    });
    return Promise.resolve();
  }
  alarmTags(arn: string): Promise<Tags | undefined> {
    this.calls.push('ListTagsForResource');
    return Promise.resolve(this.alarms.get(arn.replace('arn:alarm:', ''))?.tags);
  }
  tagAlarm(arn: string, tags: Tags): Promise<void> {
    this.calls.push('TagResource');
    const found = this.alarms.get(arn.replace('arn:alarm:', ''));
    if (found) found.tags = { ...found.tags, ...tags };
    return Promise.resolve();
  }
  untagAlarm(arn: string, keys: readonly string[]): Promise<void> {
    this.calls.push('UntagResource');
    const found = this.alarms.get(arn.replace('arn:alarm:', ''));
    if (found) for (const key of keys) delete found.tags[key];
    return Promise.resolve();
  }
  deleteAlarms(names: readonly string[]): Promise<void> {
    this.calls.push('DeleteAlarms');
    for (const name of names) this.alarms.delete(name);
    return Promise.resolve();
  }
}

function context(cloudwatch: FakeAlarms, ...topics: Parameters<typeof lookupOf>) {
  const events: string[] = [];
  const ctx: AlarmContext = {
    alarms: cloudwatch,
    lookupTopic: lookupOf(...topics),
    settings,
    recorder: { event: (_obj, type, reason, message) => events.push(`${type} ${reason}: ${message}`) },
    log: silentLogger(),
  };
  return { ctx, events };
}

const ours = ownershipTags({ cluster: 'prod', namespace: 'shop', name: 'payment-orders', uid: 'uid-q' });
const spec = {
  alarms: { topicRef: { name: 'alerts' }, backlog: { threshold: 100 }, deadLetterNotEmpty: {} },
};
const BACKLOG = 'pubsub_shop_payment-orders_backlog';
const DLQ = 'pubsub_shop_payment-orders_dlq-not-empty';

/** Runs syncAlarms, then stores what it returns as status, as the reconcile would. */
async function sync(ctx: AlarmContext, q: ConsumerQueue) {
  const outcome = await syncAlarms(ctx, q, queueNames(q, settings));
  const next: ConsumerQueue = {
    ...q,
    // As the status write records them: the generation seen and the tag keys applied.
    status: {
      ...q.status,
      ...(outcome.alarms ? { alarms: outcome.alarms } : {}),
      ...(q.metadata?.generation !== undefined ? { observedGeneration: q.metadata.generation } : {}),
      ...(q.spec.tags ? { managedTagKeys: Object.keys(q.spec.tags).sort() } : {}),
    },
  };
  if (!outcome.alarms && next.status) delete next.status.alarms;
  return { outcome, next };
}

describe('syncAlarms', () => {
  it('costs nothing for a queue that neither wants nor has alarms', async () => {
    const cw = new FakeAlarms();
    const { outcome } = await sync(context(cw).ctx, cq());
    expect(outcome).toEqual({
      alarms: undefined,
      alarmState: undefined,
      condition: undefined,
      waiting: false,
    });
    expect(cw.calls).toEqual([]);
  });

  it('creates the alarms with the ownership tags and the topic as action, then one read per resync', async () => {
    const cw = new FakeAlarms();
    const { ctx, events } = context(cw, topic('shop', 'alerts'));
    const first = await sync(ctx, cq(spec));
    expect(cw.calls).toEqual(['DescribeAlarms', 'PutMetricAlarm', 'PutMetricAlarm', 'DescribeAlarms']);
    expect(cw.alarms.get(BACKLOG)?.tags).toEqual(ours);
    expect(cw.alarms.get(BACKLOG)?.alarm.alarmActions).toEqual([ARN('alerts')]);
    expect(first.outcome.alarms?.map((a) => [a.type, a.name, a.state])).toEqual([
      ['DeadLetterNotEmpty', DLQ, 'INSUFFICIENT_DATA'],
      ['Backlog', BACKLOG, 'INSUFFICIENT_DATA'],
    ]);
    expect(first.outcome.alarmState).toBe('INSUFFICIENT_DATA');
    expect(first.outcome.condition).toMatchObject({ status: 'True', reason: 'AlarmsInPlace' });
    expect(events.filter((e) => e.includes('Created'))).toHaveLength(2);

    cw.calls.length = 0;
    const second = await sync(ctx, first.next);
    expect(cw.calls).toEqual(['DescribeAlarms']);
    expect(second.outcome.alarms).toEqual(first.outcome.alarms);
  });

  it('removes from every alarm the tags the spec dropped that it applied, and leaves a tag set by hand', async () => {
    const cw = new FakeAlarms();
    const { ctx } = context(cw, topic('shop', 'alerts'));
    const first = await sync(ctx, cq({ ...spec, tags: { team: 'payments', cost: 'shop' } }));
    const backlog = cw.alarms.get(BACKLOG);
    if (backlog) backlog.tags = { ...backlog.tags, manual: 'yes' };
    cw.calls.length = 0;
    // The spec drops `cost`: a new generation, status still records both keys.
    const next = { ...first.next, spec: { ...first.next.spec, tags: { team: 'payments' } } };
    next.metadata = { ...next.metadata, generation: 2 };
    await sync(ctx, next);
    expect(cw.calls.filter((c) => c === 'UntagResource')).toHaveLength(2);
    expect(cw.alarms.get(BACKLOG)?.tags).toEqual({ ...ours, team: 'payments', manual: 'yes' });
    expect(cw.alarms.get(DLQ)?.tags).not.toHaveProperty('cost');
  });

  it('reports a change of state in status and as an Event', async () => {
    const cw = new FakeAlarms();
    const { ctx, events } = context(cw, topic('shop', 'alerts'));
    const { next } = await sync(ctx, cq(spec));
    const backlog = cw.alarms.get(BACKLOG);
    if (backlog) backlog.state = 'ALARM';
    const { outcome } = await sync(ctx, next);
    expect(outcome.alarmState).toBe('ALARM');
    expect(events).toContain(
      `Warning AlarmStateChanged: CloudWatch alarm ${BACKLOG} (Backlog) is ALARM (was INSUFFICIENT_DATA): because`,
    );
  });

  it('updates a changed alarm after checking it is ours, and deletes one removed from the spec', async () => {
    const cw = new FakeAlarms();
    const { ctx } = context(cw, topic('shop', 'alerts'));
    const { next } = await sync(ctx, cq(spec));
    cw.calls.length = 0;
    const changed = cq({ alarms: { topicRef: { name: 'alerts' }, backlog: { threshold: 5 } } }, next.status);
    const { outcome } = await sync(ctx, changed);
    expect(cw.calls).toEqual([
      'DescribeAlarms',
      'ListTagsForResource',
      'PutMetricAlarm',
      'ListTagsForResource',
      'DeleteAlarms',
      'DescribeAlarms',
    ]);
    expect(cw.alarms.get(BACKLOG)?.alarm.threshold).toBe(5);
    expect(cw.alarms.has(DLQ)).toBe(false);
    expect(outcome.alarms?.map((a) => a.name)).toEqual([BACKLOG]);
  });

  it('leaves an alarm someone else owns untouched and says so in the condition', async () => {
    const cw = new FakeAlarms();
    const { ctx, events } = context(cw, topic('shop', 'alerts'));
    cw.alarms.set(BACKLOG, {
      alarm: { ...desiredBacklog(), threshold: 1 },
      tags: { team: 'ops' },
      state: 'OK',
    });
    const { outcome } = await sync(ctx, cq(spec));
    expect(cw.alarms.get(BACKLOG)?.alarm.threshold).toBe(1);
    expect(cw.calls.filter((c) => c === 'PutMetricAlarm')).toHaveLength(1); // the DLQ alarm only
    expect(outcome.condition).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(outcome.condition?.message).toContain(
      `CloudWatch alarm ${BACKLOG} already exists and is not managed`,
    );
    expect(outcome.alarms?.map((a) => a.name)).toEqual([DLQ]);
    expect(events.some((e) => e.startsWith('Warning NotOwned'))).toBe(true);
  });

  it('waits for the topic of the action without creating anything, and asks to look again', async () => {
    const cw = new FakeAlarms();
    const { outcome } = await sync(context(cw).ctx, cq(spec));
    expect(cw.calls).toEqual(['DescribeAlarms']);
    expect(outcome).toMatchObject({ waiting: true, condition: { status: 'False', reason: 'TopicNotFound' } });
  });

  it('removes status and condition once the last alarm is gone from the spec', async () => {
    const cw = new FakeAlarms();
    const { ctx } = context(cw, topic('shop', 'alerts'));
    const { next } = await sync(ctx, cq(spec));
    const { outcome } = await sync(ctx, cq({}, next.status));
    expect(cw.alarms.size).toBe(0);
    expect(outcome).toEqual({
      alarms: undefined,
      alarmState: undefined,
      condition: undefined,
      waiting: false,
    });
  });
});

describe('deleteQueueAlarms', () => {
  it('deletes the alarms that are ours and leaves a foreign one', async () => {
    const cw = new FakeAlarms();
    const { ctx } = context(cw, topic('shop', 'alerts'));
    const { next } = await sync(ctx, cq(spec));
    const dlq = cw.alarms.get(DLQ);
    if (dlq) dlq.tags = { ...ours, 'pubsub.ecommerce.io/uid': 'someone-else' };
    await deleteQueueAlarms(ctx, next, queueNames(next, settings));
    expect([...cw.alarms.keys()]).toEqual([DLQ]);
  });

  it('makes no call for a queue without alarms', async () => {
    const cw = new FakeAlarms();
    await deleteQueueAlarms(context(cw).ctx, cq(), queueNames(cq(), settings));
    expect(cw.calls).toEqual([]);
  });
});

function desiredBacklog(): MetricAlarm {
  const q = cq(spec);
  const found = desiredAlarms(q, settings, queueNames(q, settings), ARN('alerts')).find(
    (a) => a.type === 'Backlog',
  );
  if (!found) throw new Error('no backlog alarm');
  return found.alarm;
}
