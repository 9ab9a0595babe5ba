import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConsumerQueue, EcommerceService, EventTopic } from '../crds/index.ts';
import { Store } from '../runtime/store.ts';
import {
  objectSamples,
  OldestMessageAges,
  registerObjectMetrics,
  ScaleEventCounter,
  type ObjectView,
} from './objects.ts';

const meta = (name: string, uid = `uid-${name}`) => ({ namespace: 'shop', name, uid });
const ready = (status: 'True' | 'False') => [
  { type: 'Ready', status, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
  { type: 'Synced', status: 'True', reason: 'S', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
];

const topic = (name: string, readyStatus: 'True' | 'False' = 'True'): EventTopic =>
  ({
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EventTopic',
    metadata: meta(name),
    spec: {},
    status: { conditions: ready(readyStatus) },
  }) as unknown as EventTopic;

const queue = (name: string, status: ConsumerQueue['status'] = {}): ConsumerQueue =>
  ({
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'ConsumerQueue',
    metadata: meta(name),
    spec: {},
    status,
  }) as unknown as ConsumerQueue;

const service = (
  name: string,
  status: EcommerceService['status'] = {},
  uid = `uid-${name}`,
  engine = 'Builtin',
): EcommerceService =>
  ({
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EcommerceService',
    metadata: meta(name, uid),
    spec: { scaling: { engine, minReplicas: 1, maxReplicas: 5, queueDepth: { targetPerReplica: 20 } } },
    status,
  }) as unknown as EcommerceService;

const view = (parts: Partial<ObjectView>): ObjectView => ({
  topics: [],
  queues: [],
  services: [],
  oldestMessageAge: () => undefined,
  ...parts,
});

const value = (samples: ReturnType<typeof objectSamples>, metric: string, labels: Record<string, string>) =>
  samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

describe('objectSamples', () => {
  it('exports Ready and Synced of every kind as 1 or 0, labelled by kind, namespace and name', () => {
    const samples = objectSamples(
      view({ topics: [topic('orders'), topic('late', 'False')], queues: [queue('fresh')] }),
    );
    expect(value(samples, 'pubsub_object_ready', { kind: 'EventTopic', name: 'orders' })).toBe(1);
    expect(value(samples, 'pubsub_object_ready', { kind: 'EventTopic', name: 'late' })).toBe(0);
    expect(value(samples, 'pubsub_object_synced', { kind: 'EventTopic', name: 'late' })).toBe(1);
    // A queue without conditions yet is neither Ready nor Synced.
    expect(value(samples, 'pubsub_object_ready', { kind: 'ConsumerQueue', name: 'fresh' })).toBe(0);
    expect(samples.find((s) => s.metric === 'pubsub_object_ready')?.labels).toEqual({
      kind: 'EventTopic',
      namespace: 'shop',
      name: 'orders',
    });
  });

  it("exports a queue's backlog by state, its DLQ depth, its age where read and each alarm's state", () => {
    const q = queue('payments', {
      queueName: 'pubsub_shop_payments',
      backlog: { visible: 7, inFlight: 2, delayed: 1, deadLetter: 3 },
      alarms: [{ name: 'a', type: 'DeadLetterNotEmpty', state: 'ALARM' }],
    });
    const samples = objectSamples(
      view({ queues: [q], oldestMessageAge: (n) => (n === 'pubsub_shop_payments' ? 42 : undefined) }),
    );
    expect(value(samples, 'pubsub_consumerqueue_messages', { state: 'visible' })).toBe(7);
    expect(value(samples, 'pubsub_consumerqueue_messages', { state: 'in_flight' })).toBe(2);
    expect(value(samples, 'pubsub_consumerqueue_messages', { state: 'delayed' })).toBe(1);
    expect(value(samples, 'pubsub_consumerqueue_dead_letter_messages', { name: 'payments' })).toBe(3);
    expect(value(samples, 'pubsub_consumerqueue_oldest_message_age_seconds', { name: 'payments' })).toBe(42);
    const alarm = { alarm: 'DeadLetterNotEmpty' };
    expect(value(samples, 'pubsub_consumerqueue_alarm_state', { ...alarm, state: 'ALARM' })).toBe(1);
    expect(value(samples, 'pubsub_consumerqueue_alarm_state', { ...alarm, state: 'OK' })).toBe(0);
    expect(value(samples, 'pubsub_consumerqueue_alarm_state', { ...alarm, state: 'INSUFFICIENT_DATA' })).toBe(
      0,
    );
  });

  it('leaves out what the status does not say yet, instead of reporting 0', () => {
    const samples = objectSamples(view({ queues: [queue('new')], services: [service('new')] }));
    const metrics = new Set(samples.map((s) => s.metric));
    expect(metrics.has('pubsub_consumerqueue_messages')).toBe(false);
    expect(metrics.has('pubsub_consumerqueue_dead_letter_messages')).toBe(false);
    expect(metrics.has('pubsub_consumerqueue_oldest_message_age_seconds')).toBe(false);
    expect(metrics.has('pubsub_ecommerceservice_replicas')).toBe(false);
    expect(metrics.has('pubsub_ecommerceservice_backlog_messages')).toBe(false);
    expect(value(samples, 'pubsub_ecommerceservice_max_replicas', { name: 'new' })).toBe(5);
  });

  it("exports a service's replicas, ready replicas, desired replicas, bounds and backlog", () => {
    const samples = objectSamples(
      view({
        services: [service('pay', { replicas: 3, readyReplicas: 2, desiredReplicas: 4, backlog: 80 })],
      }),
    );
    expect(value(samples, 'pubsub_ecommerceservice_replicas', { name: 'pay' })).toBe(3);
    expect(value(samples, 'pubsub_ecommerceservice_ready_replicas', { name: 'pay' })).toBe(2);
    expect(value(samples, 'pubsub_ecommerceservice_desired_replicas', { name: 'pay' })).toBe(4);
    expect(value(samples, 'pubsub_ecommerceservice_min_replicas', { name: 'pay' })).toBe(1);
    expect(value(samples, 'pubsub_ecommerceservice_max_replicas', { name: 'pay' })).toBe(5);
    expect(value(samples, 'pubsub_ecommerceservice_backlog_messages', { name: 'pay' })).toBe(80);
    expect(value(samples, 'pubsub_ecommerceservice_target_backlog_per_replica', { name: 'pay' })).toBe(20);
  });

  it('has no backlog target for a service scaled on CPU', () => {
    const samples = objectSamples(view({ services: [service('cpu', {}, 'uid-cpu', 'CPU')] }));
    expect(samples.map((s) => s.metric)).not.toContain('pubsub_ecommerceservice_target_backlog_per_replica');
  });
});

describe('ScaleEventCounter', () => {
  it('counts each change of status.lastScaleTime, and starts again for a new object of the same name', () => {
    const counter = new ScaleEventCounter();
    const first = service('pay', { desiredReplicas: 1 });
    counter.onAdd(first);
    expect(counter.count('shop/pay', 'uid-pay')).toBe(0);
    const scaled = service('pay', { desiredReplicas: 3, lastScaleTime: '2026-01-01T00:01:00Z' });
    counter.onUpdate(first, scaled);
    // A status write that keeps the time (a poll without a change) is no scale event.
    counter.onUpdate(
      scaled,
      service('pay', { desiredReplicas: 3, lastScaleTime: '2026-01-01T00:01:00Z', backlog: 9 }),
    );
    counter.onUpdate(scaled, service('pay', { desiredReplicas: 2, lastScaleTime: '2026-01-01T00:02:00Z' }));
    expect(counter.count('shop/pay', 'uid-pay')).toBe(2);
    expect(counter.count('shop/pay', 'another-uid')).toBeUndefined();
    counter.onDelete(scaled);
    expect(counter.count('shop/pay', 'uid-pay')).toBeUndefined();
    counter.onAdd(service('pay', {}, 'uid-2'));
    expect(counter.count('shop/pay', 'uid-2')).toBe(0);
  });
});

describe('OldestMessageAges', () => {
  it('remembers what the wrapped source read, and forgets it when it is old or unknown', async () => {
    let now = 0;
    const ages = new OldestMessageAges(60_000, () => now);
    let answer: number | undefined = 30;
    const source = ages.recording({
      oldestMessageAge: () => Promise.resolve(answer === undefined ? undefined : { seconds: answer, at: 0 }),
    });
    expect((await source.oldestMessageAge('q'))?.seconds).toBe(30);
    expect(ages.get('q')).toBe(30);
    now = 61_000;
    expect(ages.get('q')).toBeUndefined();
    await source.oldestMessageAge('q');
    expect(ages.get('q')).toBe(30);
    answer = undefined;
    await source.oldestMessageAge('q');
    expect(ages.get('q')).toBeUndefined();
  });
});

describe('registerObjectMetrics', () => {
  it('reads the stores at every scrape: a deleted object leaves the output', async () => {
    const registry = new Registry();
    const topics = new Store<EventTopic>();
    const queues = new Store<ConsumerQueue>();
    const services = new Store<EcommerceService>();
    const scaleEvents = new ScaleEventCounter();
    registerObjectMetrics(registry, { topics, queues, services }, scaleEvents, new OldestMessageAges());
    queues.set(queue('payments', { backlog: { visible: 5, deadLetter: 1 } }));
    const svc = service('pay', { replicas: 1 });
    services.set(svc);
    scaleEvents.onAdd(svc);
    scaleEvents.onUpdate(svc, service('pay', { replicas: 2, lastScaleTime: '2026-01-01T00:00:00Z' }));

    const before = await registry.metrics();
    expect(before).toContain(
      'pubsub_consumerqueue_messages{namespace="shop",name="payments",state="visible"} 5',
    );
    expect(before).toContain('pubsub_consumerqueue_dead_letter_messages{namespace="shop",name="payments"} 1');
    expect(before).toContain('pubsub_ecommerceservice_scale_events_total{namespace="shop",name="pay"} 1');
    expect(before).toContain('pubsub_object_ready{kind="ConsumerQueue",namespace="shop",name="payments"} 0');

    queues.delete('shop/payments');
    services.delete('shop/pay');
    const after = await registry.metrics();
    expect(after).not.toContain('name="payments"');
    expect(after).not.toContain('name="pay"');
    // Declared still, so a dashboard query finds the name even with no object.
    expect(after).toContain('# TYPE pubsub_consumerqueue_messages gauge');
  });

  it('reads each store once per scrape, not once per gauge', async () => {
    const registry = new Registry();
    const queues = new Store<ConsumerQueue>();
    queues.set(queue('payments', { backlog: { visible: 5 } }));
    let reads = 0;
    const counted = {
      list: () => {
        reads += 1;
        return queues.list();
      },
    } as unknown as Store<ConsumerQueue>;
    const stores = {
      topics: new Store<EventTopic>(),
      queues: counted,
      services: new Store<EcommerceService>(),
    };
    registerObjectMetrics(registry, stores, new ScaleEventCounter(), new OldestMessageAges());
    expect(await registry.metrics()).toContain('state="visible"} 5');
    expect(reads).toBe(1);
    // The next scrape sees what changed since.
    queues.set(queue('payments', { backlog: { visible: 7 } }));
    expect(await registry.metrics()).toContain('state="visible"} 7');
    expect(reads).toBe(2);
  });
});
