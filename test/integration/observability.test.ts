// Observability on the bed: the real operator exports per-object series for a topic, a queue and a
// service (read off its caches, gone with the objects), and every metric name a panel of the Grafana
// dashboard or an alert rule uses is one the real operator or a real service process exports.
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, declaredMetrics, metricNames, ruleExpressions } from '../support/metric-names.ts';
import { eventually, uniqueName } from './support/bed.ts';
import { cloudwatch } from './support/cloudwatch.ts';
import { applyObject, deleteAll, deleteObject, getObject, waitForCondition } from './support/controllers.ts';
import { crdTestNamespace } from './support/crds.ts';
import { sendMessages } from './support/ecommerce.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';
import { useServices } from './support/services.ts';

const ns = crdTestNamespace('observe');
const clusterName = uniqueName('observe');
let operator: OperatorProcess;

beforeAll(async () => {
  // With leader election, as deployed: the leader gauge is part of what the rules use.
  operator = await startOperator({ namespaces: [ns], clusterName });
});

afterAll(async () => {
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
});

const scrape = (port: number) => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());

/** The value of the series `name{labels}` in an exposition, undefined when it is not there. */
function valueOf(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [, body = '', value = ''] = /^[^{]+\{(.*)\} (\S+)$/.exec(line) ?? [];
    const found: Record<string, string | undefined> = Object.fromEntries(
      [...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(value);
  }
  return undefined;
}

describe('per-object metrics of the operator', () => {
  it('export the backlog, DLQ depth, age, alarms and Ready of a queue, the replicas and scale events of a service', async () => {
    applyObject(ns, 'eventtopics', 'events', {});
    await waitForCondition(ns, 'eventtopics', 'events', 'Ready', 'True');
    applyObject(ns, 'consumerqueues', 'work', {
      subscriptions: [{ topicRef: { name: 'events' } }],
      alarms: { deadLetterNotEmpty: {} },
    });
    const queue = await waitForCondition(ns, 'consumerqueues', 'work', 'Ready', 'True');
    const queueName = String(queue.status?.['queueName']);
    // What CloudWatch would report for the queue; the Builtin scaler reads it for scaling.age.
    await cloudwatch().send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SQS',
        MetricData: [
          {
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: queueName }],
            Value: 90,
            Unit: 'Seconds',
            Timestamp: new Date(Date.now() - 30_000),
          },
        ],
      }),
    );
    await sendMessages(String(queue.status?.['queueUrl']), 12);
    applyObject(ns, 'ecommerceservices', 'worker', {
      image: 'example/worker:1',
      consumes: { queueRef: { name: 'work' } },
      scaling: {
        maxReplicas: 3,
        queueDepth: { targetPerReplica: 5, pollIntervalSeconds: 5 },
        age: { maxAgeSeconds: 600 },
      },
    });
    // 12 messages at 5 per replica: the scaler goes to 3 replicas, one scale event at least.
    await eventually(
      async () => {
        const svc = await getObject(ns, 'ecommerceservices', 'worker');
        return svc?.status?.['desiredReplicas'] === 3 && svc.status['lastScaleTime'] ? svc : undefined;
      },
      { timeoutMs: 60_000, what: 'the worker to be scaled to 3 replicas' },
    );

    const id = { namespace: ns, name: 'work' };
    const svc = { namespace: ns, name: 'worker' };
    const metrics = await eventually(
      async () => {
        const text = await scrape(operator.httpPort);
        const ready = [
          valueOf(text, 'pubsub_consumerqueue_messages', { ...id, state: 'visible' }) === 12,
          valueOf(text, 'pubsub_ecommerceservice_backlog_messages', svc) === 12,
          valueOf(text, 'pubsub_ecommerceservice_replicas', svc) !== undefined,
          valueOf(text, 'pubsub_consumerqueue_alarm_state', { ...id, alarm: 'DeadLetterNotEmpty' }) !==
            undefined,
        ];
        return ready.every(Boolean) ? text : undefined;
      },
      { timeoutMs: 60_000, what: 'the per-object series of the queue and the service' },
    );
    expect(
      valueOf(metrics, 'pubsub_object_ready', { kind: 'EventTopic', namespace: ns, name: 'events' }),
    ).toBe(1);
    expect(valueOf(metrics, 'pubsub_object_ready', { kind: 'ConsumerQueue', ...id })).toBe(1);
    expect(valueOf(metrics, 'pubsub_object_synced', { kind: 'ConsumerQueue', ...id })).toBe(1);
    expect(valueOf(metrics, 'pubsub_object_ready', { kind: 'EcommerceService', ...svc })).toBeDefined();
    expect(valueOf(metrics, 'pubsub_consumerqueue_messages', { ...id, state: 'in_flight' })).toBe(0);
    expect(valueOf(metrics, 'pubsub_consumerqueue_messages', { ...id, state: 'delayed' })).toBe(0);
    expect(valueOf(metrics, 'pubsub_consumerqueue_dead_letter_messages', id)).toBe(0);
    expect(valueOf(metrics, 'pubsub_consumerqueue_oldest_message_age_seconds', id)).toBe(90);
    const alarmStates = ['OK', 'ALARM', 'INSUFFICIENT_DATA'].map((state) =>
      valueOf(metrics, 'pubsub_consumerqueue_alarm_state', { ...id, alarm: 'DeadLetterNotEmpty', state }),
    );
    expect(alarmStates.sort()).toEqual([0, 0, 1]);
    expect(valueOf(metrics, 'pubsub_ecommerceservice_desired_replicas', svc)).toBe(3);
    expect(valueOf(metrics, 'pubsub_ecommerceservice_min_replicas', svc)).toBe(1);
    expect(valueOf(metrics, 'pubsub_ecommerceservice_max_replicas', svc)).toBe(3);
    expect(valueOf(metrics, 'pubsub_ecommerceservice_target_backlog_per_replica', svc)).toBe(5);
    expect(valueOf(metrics, 'pubsub_ecommerceservice_scale_events_total', svc)).toBeGreaterThanOrEqual(1);
    expect(valueOf(metrics, 'leader_election_master_status', {})).toBe(1);
  });

  it('are the same on a replica that does not lead', async () => {
    const standby = await startOperator({ namespaces: [ns], clusterName });
    try {
      // Two series are what a replica did itself, and left out: scale events, counted from what it
      // has seen since it started, and the age of the oldest message, which the leader's scaler reads.
      const perObject = (text: string) =>
        text
          .split('\n')
          .filter((l) => /^pubsub_(object|consumerqueue|ecommerceservice)_/.test(l))
          .filter(
            (l) => !/^pubsub_(ecommerceservice_scale_events_total|consumerqueue_oldest_message_age)/.test(l),
          )
          .sort();
      const [leader, follower] = await eventually(
        async () => {
          const both = [await scrape(operator.httpPort), await scrape(standby.httpPort)] as const;
          const [a, b] = both.map(perObject);
          return a && b && a.length > 10 && a.join('\n') === b.join('\n') ? both : undefined;
        },
        { timeoutMs: 60_000, what: 'the standby replica to export the same per-object series' },
      );
      expect(valueOf(leader, 'leader_election_master_status', {})).toBe(1);
      expect(valueOf(follower, 'leader_election_master_status', {})).toBe(0);
      const id = { namespace: ns, name: 'work' };
      expect(valueOf(leader, 'pubsub_consumerqueue_oldest_message_age_seconds', id)).toBe(90);
      expect(valueOf(follower, 'pubsub_consumerqueue_oldest_message_age_seconds', id)).toBeUndefined();
      // Its own count of scale events starts at 0, with the series present for increase() to work.
      expect(
        valueOf(follower, 'pubsub_ecommerceservice_scale_events_total', { namespace: ns, name: 'worker' }),
      ).toBe(0);
    } finally {
      await standby.stop();
    }
  });

  it('drop the series of an object once it is deleted', async () => {
    expect(await scrape(operator.httpPort)).toContain('name="worker"');
    await deleteObject(ns, 'ecommerceservices', 'worker');
    await eventually(
      async () => {
        const text = await scrape(operator.httpPort);
        return text.includes('name="worker"') ? undefined : text;
      },
      { timeoutMs: 60_000, what: 'the series of the deleted service to go' },
    );
  });
});

describe('the metric names of the dashboard and the alert rules', () => {
  // A real service process, on queues made without a second operator.
  const services = useServices({ provisioner: 'direct' });
  const used = new Map<string, string>();
  for (const query of dashboardQueries())
    for (const name of metricNames(query)) used.set(name, `panel: ${query}`);
  for (const [alert, expr] of Object.entries(ruleExpressions()))
    for (const name of metricNames(expr)) used.set(name, `alert ${alert}`);
  const fromServices = [...used.keys()].filter((n) => n.startsWith('consumer_') || n.startsWith('http_'));
  const fromOperator = [...used.keys()].filter((n) => !fromServices.includes(n));

  it('are many, from both the operator and the services', () => {
    expect(fromOperator).toContain('pubsub_consumerqueue_dead_letter_messages');
    expect(fromOperator).toContain('controller_runtime_reconcile_errors_total');
    expect(fromServices).toContain('consumer_handler_duration_seconds_bucket');
    expect(used.size).toBeGreaterThan(20);
  });

  it('are all exported by the real operator', async () => {
    const declared = declaredMetrics(await scrape(operator.httpPort));
    const missing = fromOperator.filter((n) => !declared.has(n)).map((n) => `${n} (${used.get(n)})`);
    expect(missing).toEqual([]);
  });

  it('are all exported by a real service process', async () => {
    const notifications = await services.start('notification-service');
    const declared = declaredMetrics(await fetch(notifications.url('/metrics')).then((r) => r.text()));
    const missing = fromServices.filter((n) => !declared.has(n)).map((n) => `${n} (${used.get(n)})`);
    expect(missing).toEqual([]);
  });
});
