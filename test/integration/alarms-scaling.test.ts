// The Builtin scaler's CloudWatch side, with the real operator process against the bed: a service
// that opts in publishes its backlog per replica (PubSubOperator/BacklogPerReplica), one that does
// not publishes nothing, and scaling.age reads ApproximateAgeOfOldestMessage from CloudWatch. moto
// emits no AWS/SQS metrics, so the age is put there by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace } from './support/crds.ts';
import { applyObject, conditionOf, deleteAll, getObject, waitForCondition } from './support/controllers.ts';
import { cloudwatch } from './support/cloudwatch.ts';
import { sendMessages } from './support/ecommerce.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('alarms-scaling');
let operator: OperatorProcess;

beforeAll(async () => {
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('alarms-scaling'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues']).catch(() => undefined);
  await operator?.stop();
});

const service = (queue: string, scaling: Record<string, unknown>) => ({
  image: 'example/worker:1',
  consumes: { queueRef: { name: queue } },
  scaling,
});

/** The values of BacklogPerReplica for one service over the last ten minutes. */
async function backlogPerReplica(name: string): Promise<number[]> {
  const end = new Date(Date.now() + 60_000);
  const { MetricDataResults = [] } = await cloudwatch().send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 660_000),
      EndTime: end,
      MetricDataQueries: [
        {
          Id: 'b',
          MetricStat: {
            Metric: {
              Namespace: 'PubSubOperator',
              MetricName: 'BacklogPerReplica',
              Dimensions: [
                { Name: 'Namespace', Value: ns },
                { Name: 'Service', Value: name },
              ],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  return MetricDataResults[0]?.Values ?? [];
}

describe('the Builtin scaler and CloudWatch', () => {
  it('publishes backlog per replica for a service that opts in, and nothing for one that does not', async () => {
    applyObject(ns, 'consumerqueues', 'work', {});
    const queue = await waitForCondition(ns, 'consumerqueues', 'work', 'Ready', 'True');
    const depth = { targetPerReplica: 5, pollIntervalSeconds: 5 };
    applyObject(
      ns,
      'ecommerceservices',
      'publisher',
      service('work', { maxReplicas: 4, queueDepth: { ...depth, publishBacklogMetric: true } }),
    );
    applyObject(ns, 'ecommerceservices', 'silent', service('work', { maxReplicas: 4, queueDepth: depth }));
    await sendMessages(String(queue.status?.['queueUrl']), 12);

    // 12 messages, at most 4 replicas: the backlog per replica is positive whatever the scaler decided.
    const values = await eventually(
      async () => {
        const found = await backlogPerReplica('publisher');
        return found.some((v) => v > 0) ? found : undefined;
      },
      { timeoutMs: 90_000, what: 'BacklogPerReplica of the publisher in CloudWatch' },
    );
    expect(Math.max(...values)).toBeLessThanOrEqual(12);
    // The other service has measured the same backlog, yet published nothing.
    await eventually(
      async () =>
        (await getObject(ns, 'ecommerceservices', 'silent'))?.status?.['backlog'] === 12 ? true : undefined,
      { what: 'the silent service to measure all 12 messages' },
    );
    expect(await backlogPerReplica('silent')).toEqual([]);
  });

  it('scales on the age of the oldest message read from CloudWatch', async () => {
    applyObject(ns, 'consumerqueues', 'aged', {});
    const queue = await waitForCondition(ns, 'consumerqueues', 'aged', 'Ready', 'True');
    await cloudwatch().send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SQS',
        MetricData: [
          {
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: String(queue.status?.['queueName']) }],
            Value: 600,
            Unit: 'Seconds',
            Timestamp: new Date(Date.now() - 30_000),
          },
        ],
      }),
    );
    applyObject(
      ns,
      'ecommerceservices',
      'aged-worker',
      service('aged', { maxReplicas: 3, queueDepth: { pollIntervalSeconds: 5 }, age: { maxAgeSeconds: 60 } }),
    );
    // An empty queue asks for one replica; the age alone adds more.
    const scaled = await eventually(
      async () => {
        const obj = await getObject(ns, 'ecommerceservices', 'aged-worker');
        return Number(obj?.status?.['desiredReplicas'] ?? 0) >= 2 ? obj : undefined;
      },
      { timeoutMs: 90_000, what: 'the age to scale the service up' },
    );
    expect(conditionOf(scaled, 'Scaling')?.message).toContain('the oldest message waited 600s');
    expect(conditionOf(scaled, 'Scaling')?.message).not.toContain('scaling.age is not applied');
  });
});
