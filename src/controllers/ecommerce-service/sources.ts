// Optional services the Builtin scaler can use, and the small amount of memory it keeps.
//
// Where CloudWatch plugs in: the Builtin scaler reads the age of the oldest message (for
// scaling.age) through a QueueAgeSource and reports the backlog per replica (for
// scaling.queueDepth.publishBacklogMetric) through a BacklogMetricSink. Both are optional; the
// operator gives it the CloudWatch-backed ones below (src/aws/cloudwatch.ts). Without an age
// source, scaling.age is reported as not applied in the Scaling condition; without a sink, no
// metric is published.
import { oldestMessageAge, publishBacklogPerReplica, type MetricGateway } from '../../aws/cloudwatch.ts';
import type { Backlog } from '../../aws/queues.ts';
import type { AgePoint, Recommendation } from './scaling.ts';

export interface QueueAgeSource {
  /**
   * Age of the oldest message of the queue with this physical name, in seconds, with the timestamp
   * of the data point it comes from; undefined when unknown.
   */
  oldestMessageAge(queueName: string): Promise<AgePoint | undefined>;
}

export interface BacklogMetricSink {
  /** Records one poll's backlog per replica of a service (for dashboards, alarms or a CloudWatch-based HPA). */
  publish(service: { namespace: string; name: string }, backlogPerReplica: number): Promise<void>;
}

/** ApproximateAgeOfOldestMessage from CloudWatch (AWS/SQS, by QueueName). */
export const cloudWatchAgeSource = (metrics: MetricGateway): QueueAgeSource => ({
  oldestMessageAge: async (queueName) => {
    const point = await oldestMessageAge(metrics, queueName);
    return point && { seconds: point.value, at: point.at };
  },
});

/** PubSubOperator/BacklogPerReplica in CloudWatch, by Namespace and Service. */
export const cloudWatchBacklogSink = (metrics: MetricGateway): BacklogMetricSink => ({
  publish: (service, value) =>
    publishBacklogPerReplica(metrics, { namespace: service.namespace, service: service.name, value }),
});

interface ScalerState {
  uid: string;
  generation: number | undefined;
  lastPollAt: number;
  history: Recommendation[];
  /** Timestamp of the last age data point the scaler scaled up on; a point acts once. */
  ageActedAt?: number | undefined;
  /** When the backlog shown in status was last refreshed (see BACKLOG_STATUS_INTERVAL_MS). */
  backlogShownAt?: number | undefined;
}

/**
 * What the scaler remembers per EcommerceService between polls: when it last measured, and the
 * recommendations of the stabilization window. It lives in the operator's memory only. After a
 * restart (or a change of leader, which restarts the process) the first poll of each service
 * counts the Deployment's current replicas as a recommendation made at that moment, so nothing
 * scales down until one whole stabilization window has been observed again; scale-up is never
 * delayed. A service deleted and created again under the same name (a new uid) starts afresh.
 */
export class ScalerMemory {
  private readonly states = new Map<string, ScalerState>();

  get(key: string, uid: string): ScalerState | undefined {
    const state = this.states.get(key);
    return state?.uid === uid ? state : undefined;
  }

  set(key: string, state: ScalerState): void {
    this.states.set(key, state);
  }

  forget(key: string): void {
    this.states.delete(key);
  }

  size(): number {
    return this.states.size;
  }
}

/**
 * The backlog readings of each queue, shared by the services that consume it: a reading younger than
 * the asker allows (half its poll interval) is reused, and services polling the same queue at once
 * share one request. N services on one queue cost about one GetQueueAttributes per poll interval.
 */
export class SharedBacklogReadings {
  private readonly readings = new Map<string, { at: number; value: Promise<Backlog> }>();

  read(url: string, maxAgeMs: number, now: number, fetch: () => Promise<Backlog>): Promise<Backlog> {
    const cached = this.readings.get(url);
    if (cached && now - cached.at <= maxAgeMs) return cached.value;
    const value = fetch();
    this.readings.set(url, { at: now, value });
    // A failed reading is not shared: the next poll asks again.
    value.catch(() => {
      if (this.readings.get(url)?.value === value) this.readings.delete(url);
    });
    return value;
  }

  forget(url: string): void {
    this.readings.delete(url);
  }

  size(): number {
    return this.readings.size;
  }
}
