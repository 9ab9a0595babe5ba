// BacklogPerReplica is opt-in, with the real operator process against the bed: of two services
// measuring the same backlog, the one with publishBacklogMetric puts its backlog per replica into
// CloudWatch and the other puts nothing. (ecommerce-service-engines.test.ts covers scaling.age and
// an empty queue's datum.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace } from './support/crds.ts';
import { applyObject, deleteAll, getObject, waitForCondition } from './support/controllers.ts';
import { backlogPerReplica, sendMessages } from './support/ecommerce.ts';
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
        const found = await backlogPerReplica(ns, 'publisher');
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
    expect(await backlogPerReplica(ns, 'silent')).toEqual([]);
  });
});
