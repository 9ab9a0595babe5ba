// Per-object metrics: what the operator already knows about each EventTopic, ConsumerQueue and
// EcommerceService (their status, as the informers cache it), exported at scrape time. Nothing here
// calls AWS or the API server: the series are read off the caches when Prometheus asks, so an
// object that leaves the cache leaves the output at the next scrape, and every replica (leader or
// not) exports the same values, since every replica runs the informers.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConsumerQueue, EcommerceService, EventTopic } from '../crds/index.ts';
import { isTrue } from '../runtime/conditions.ts';
import type { EventHandler } from '../runtime/informer.ts';
import { objectKey, type ReadonlyStore } from '../runtime/store.ts';
import type { KubeObject } from '../runtime/types.ts';
import type { QueueAgeSource } from '../controllers/ecommerce-service/sources.ts';

export type Labels = Record<string, string>;

/** One series of one metric, with its value. */
export interface Sample {
  metric: string;
  labels: Labels;
  value: number;
}

/** How a metric is declared: its help text and label names. */
interface Declared {
  help: string;
  labelNames: readonly string[];
}

export const OBJECT_GAUGES = {
  pubsub_object_ready: {
    help: 'Whether the object is Ready: 1 when its Ready condition is True, 0 otherwise (False, Unknown or not yet written)',
    labelNames: ['kind', 'namespace', 'name'],
  },
  pubsub_object_synced: {
    help: 'Whether the object is Synced: 1 when its Synced condition is True, 0 otherwise',
    labelNames: ['kind', 'namespace', 'name'],
  },
  pubsub_consumerqueue_messages: {
    help: 'Messages in the queue at the last reconcile, by state: visible, in_flight (received, not deleted), delayed',
    labelNames: ['namespace', 'name', 'state'],
  },
  pubsub_consumerqueue_dead_letter_messages: {
    help: "Messages in the queue's dead-letter queue at the last reconcile",
    labelNames: ['namespace', 'name'],
  },
  pubsub_consumerqueue_oldest_message_age_seconds: {
    help: 'Age of the oldest message of the queue (CloudWatch ApproximateAgeOfOldestMessage), where the Builtin scaler of an EcommerceService with scaling.age reads it',
    labelNames: ['namespace', 'name'],
  },
  pubsub_consumerqueue_alarm_state: {
    help: "State of each CloudWatch alarm of the queue (status.alarms): 1 for the alarm's current state, 0 for the other two",
    labelNames: ['namespace', 'name', 'alarm', 'state'],
  },
  pubsub_ecommerceservice_replicas: {
    help: "Pods of the service's Deployment",
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_ready_replicas: {
    help: "Ready pods of the service's Deployment",
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_desired_replicas: {
    help: 'Replicas the scaling engine asked for at its last decision',
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_min_replicas: {
    help: 'spec.scaling.minReplicas of the service',
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_max_replicas: {
    help: 'spec.scaling.maxReplicas of the service',
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_target_backlog_per_replica: {
    help: 'spec.scaling.queueDepth.targetPerReplica: the backlog per replica the queue-depth engines (Builtin, KEDA) aim for',
    labelNames: ['namespace', 'name'],
  },
  pubsub_ecommerceservice_backlog_messages: {
    help: 'Messages the Builtin scaler counted in the consumed queue at its last poll',
    labelNames: ['namespace', 'name'],
  },
} as const satisfies Record<string, Declared>;

export type ObjectGauge = keyof typeof OBJECT_GAUGES;

export const SCALE_EVENTS_TOTAL = 'pubsub_ecommerceservice_scale_events_total';

export const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;

/** What the samples are computed from: the cached objects and what the operator remembers beside them. */
export interface ObjectView {
  topics: readonly EventTopic[];
  queues: readonly ConsumerQueue[];
  services: readonly EcommerceService[];
  /** Age of the oldest message of the queue with this physical name, where it was read recently. */
  oldestMessageAge(queueName: string): number | undefined;
}

const idOf = (obj: KubeObject): Labels => ({
  namespace: obj.metadata?.namespace ?? '',
  name: obj.metadata?.name ?? '',
});

function conditionSamples(kind: string, obj: KubeObject & { status?: { conditions?: unknown } }): Sample[] {
  const conditions = (obj.status?.conditions ?? []) as Parameters<typeof isTrue>[0];
  const labels = { kind, ...idOf(obj) };
  return [
    { metric: 'pubsub_object_ready', labels, value: isTrue(conditions, 'Ready') ? 1 : 0 },
    { metric: 'pubsub_object_synced', labels, value: isTrue(conditions, 'Synced') ? 1 : 0 },
  ];
}

function queueSamples(queue: ConsumerQueue, view: ObjectView): Sample[] {
  const id = idOf(queue);
  const out: Sample[] = [];
  const backlog = queue.status?.backlog;
  const states = [
    ['visible', backlog?.visible],
    ['in_flight', backlog?.inFlight],
    ['delayed', backlog?.delayed],
  ] as const;
  for (const [state, value] of states) {
    if (value !== undefined)
      out.push({ metric: 'pubsub_consumerqueue_messages', labels: { ...id, state }, value });
  }
  if (backlog?.deadLetter !== undefined)
    out.push({ metric: 'pubsub_consumerqueue_dead_letter_messages', labels: id, value: backlog.deadLetter });
  const queueName = queue.status?.queueName;
  const age = queueName === undefined ? undefined : view.oldestMessageAge(queueName);
  if (age !== undefined)
    out.push({ metric: 'pubsub_consumerqueue_oldest_message_age_seconds', labels: id, value: age });
  for (const alarm of queue.status?.alarms ?? []) {
    for (const state of ALARM_STATES) {
      out.push({
        metric: 'pubsub_consumerqueue_alarm_state',
        labels: { ...id, alarm: alarm.type, state },
        value: alarm.state === state ? 1 : 0,
      });
    }
  }
  return out;
}

function serviceSamples(svc: EcommerceService): Sample[] {
  const id = idOf(svc);
  const status = svc.status ?? {};
  const values: [ObjectGauge, number | undefined][] = [
    ['pubsub_ecommerceservice_replicas', status.replicas],
    [
      'pubsub_ecommerceservice_ready_replicas',
      status.readyReplicas ?? (status.replicas === undefined ? undefined : 0),
    ],
    ['pubsub_ecommerceservice_desired_replicas', status.desiredReplicas],
    ['pubsub_ecommerceservice_min_replicas', svc.spec.scaling.minReplicas],
    ['pubsub_ecommerceservice_max_replicas', svc.spec.scaling.maxReplicas],
    [
      'pubsub_ecommerceservice_target_backlog_per_replica',
      svc.spec.scaling.engine === 'CPU' ? undefined : svc.spec.scaling.queueDepth.targetPerReplica,
    ],
    ['pubsub_ecommerceservice_backlog_messages', status.backlog],
  ];
  return values
    .filter((entry): entry is [ObjectGauge, number] => entry[1] !== undefined)
    .map(([metric, value]) => ({ metric, labels: id, value }));
}

/** Every per-object gauge sample: pure, from the cached objects. */
export function objectSamples(view: ObjectView): Sample[] {
  return [
    ...view.topics.flatMap((t) => conditionSamples('EventTopic', t)),
    ...view.queues.flatMap((q) => [...conditionSamples('ConsumerQueue', q), ...queueSamples(q, view)]),
    ...view.services.flatMap((s) => [...conditionSamples('EcommerceService', s), ...serviceSamples(s)]),
  ];
}

/**
 * Counts scale events per EcommerceService from the informer's updates: each change of
 * status.lastScaleTime is one (whichever engine set it: the Builtin scaler, or the HPA's own time
 * for engine CPU). Counts start at 0 when a replica first sees the service and are forgotten with
 * it; a replica counts what it saw, so after a watch gap several scale events may count as one.
 */
export class ScaleEventCounter implements EventHandler<EcommerceService> {
  private readonly counts = new Map<string, { uid: string; count: number }>();

  onAdd(obj: EcommerceService): void {
    const key = objectKey(obj);
    const uid = obj.metadata?.uid ?? '';
    if (this.counts.get(key)?.uid !== uid) this.counts.set(key, { uid, count: 0 });
  }

  onUpdate(oldObj: EcommerceService, newObj: EcommerceService): void {
    this.onAdd(newObj);
    const next = newObj.status?.lastScaleTime;
    if (next !== undefined && next !== oldObj.status?.lastScaleTime) {
      const entry = this.counts.get(objectKey(newObj));
      if (entry) entry.count += 1;
    }
  }

  onDelete(obj: EcommerceService): void {
    this.counts.delete(objectKey(obj));
  }

  /** Scale events seen for the service with this key and uid; undefined for one never seen. */
  count(key: string, uid: string): number | undefined {
    const entry = this.counts.get(key);
    return entry?.uid === uid ? entry.count : undefined;
  }
}

/** The last age of the oldest message read per physical queue name, forgotten after `maxAgeMs`. */
export class OldestMessageAges {
  private readonly ages = new Map<string, { value: number; at: number }>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(maxAgeMs = 10 * 60_000, now: () => number = Date.now) {
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  record(queueName: string, value: number | undefined): void {
    if (value === undefined) this.ages.delete(queueName);
    else this.ages.set(queueName, { value, at: this.now() });
  }

  get(queueName: string): number | undefined {
    const entry = this.ages.get(queueName);
    if (entry && this.now() - entry.at > this.maxAgeMs) {
      this.ages.delete(queueName);
      return undefined;
    }
    return entry?.value;
  }

  /** Wraps an age source so every age it reads is remembered here. */
  recording(source: QueueAgeSource): QueueAgeSource {
    return {
      oldestMessageAge: async (queueName: string) => {
        const point = await source.oldestMessageAge(queueName);
        this.record(queueName, point?.seconds);
        return point;
      },
    };
  }
}

/**
 * A gauge whose series are the samples computed at the scrape, handed to prom-client as they are:
 * setting them one by one (labels checked and hashed per series, into a map read back at once) took
 * most of a scrape at thousands of objects.
 */
class SampledGauge extends Gauge {
  private readonly samples: () => Sample[];

  constructor(name: string, declared: Declared, registry: Registry, samples: () => Sample[]) {
    super({ name, help: declared.help, labelNames: declared.labelNames, registers: [registry] });
    this.samples = samples;
  }

  override async get(): ReturnType<Gauge['get']> {
    // Name, help and type as prom-client states them; the gauge itself holds no series.
    const metric = await super.get();
    return { ...metric, values: this.samples().map(({ labels, value }) => ({ labels, value })) };
  }
}

export interface ObjectStores {
  topics: ReadonlyStore<EventTopic>;
  queues: ReadonlyStore<ConsumerQueue>;
  services: ReadonlyStore<EcommerceService>;
}

/**
 * Registers the per-object gauges and the scale event counter on `registry`. Their values are
 * computed from `stores` at every scrape.
 */
export function registerObjectMetrics(
  registry: Registry,
  stores: ObjectStores,
  scaleEvents: ScaleEventCounter,
  ages: OldestMessageAges,
): void {
  const view = (): ObjectView => ({
    topics: stores.topics.list(),
    queues: stores.queues.list(),
    services: stores.services.list(),
    oldestMessageAge: (queueName) => ages.get(queueName),
  });
  // A scrape collects every gauge in one turn of the event loop: the samples are computed once for
  // all of them, not once per gauge. A gauge asked for again is a new scrape, and the next turn
  // starts afresh.
  let scrape: { samples: Map<string, Sample[]>; served: Set<string> } | undefined;
  const samplesOf = (metric: string): Sample[] => {
    if (!scrape || scrape.served.has(metric)) {
      const samples = new Map<string, Sample[]>();
      for (const sample of objectSamples(view())) {
        const group = samples.get(sample.metric);
        if (group) group.push(sample);
        else samples.set(sample.metric, [sample]);
      }
      const current = { samples, served: new Set<string>() };
      scrape = current;
      setImmediate(() => {
        if (scrape === current) scrape = undefined;
      });
    }
    scrape.served.add(metric);
    return scrape.samples.get(metric) ?? [];
  };
  for (const [name, declared] of Object.entries(OBJECT_GAUGES))
    new SampledGauge(name, declared, registry, () => samplesOf(name));
  new Counter({
    name: SCALE_EVENTS_TOTAL,
    help: 'Scale events of the service (changes of status.lastScaleTime) this replica has seen since it started',
    labelNames: ['namespace', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const svc of stores.services.list()) {
        const count = scaleEvents.count(objectKey(svc), svc.metadata?.uid ?? '');
        if (count !== undefined) this.inc(idOf(svc), count);
      }
    },
  });
}
