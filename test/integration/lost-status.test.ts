// A ConsumerQueue whose status is lost (wiped, or restored without it) while an entry is removed
// from its spec, on the bed: nothing records the topic that delivered into the queue any more, so
// the operator searches the account for subscriptions into its queue and removes the one nobody
// asks for. Without that search the subscription stays in SNS forever.
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl } from './support/crds.ts';
import {
  applyObject,
  deleteAll,
  getObject,
  subscriptionsTo,
  waitForCondition,
} from './support/controllers.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('lost');
const cluster = uniqueName('lost');
let operator: OperatorProcess | undefined;

const start = () =>
  startOperator({ namespaces: [ns], clusterName: cluster, env: { PUBSUB_LEADER_ELECT: 'false' } });

afterAll(async () => {
  operator ??= await start();
  await deleteAll(ns, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator.stop();
});

describe('a lost status', () => {
  it('with an entry removed at the same time leaves no subscription behind', async () => {
    operator = await start();
    applyObject(ns, 'eventtopics', 'orders', {});
    applyObject(ns, 'consumerqueues', 'payments', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    const subscribed = await waitForCondition(ns, 'consumerqueues', 'payments', 'Subscribed', 'True');
    const queueArn = String(subscribed.status?.['queueArn']);
    const topicArn = String((await getObject(ns, 'eventtopics', 'orders'))?.status?.['topicArn']);
    expect(await subscriptionsTo(topicArn, queueArn)).toHaveLength(1);

    // While no operator runs: the status goes, and so does the entry.
    await operator.stop();
    operator = undefined;
    kubectl([
      'patch',
      '-n',
      ns,
      'consumerqueues',
      'payments',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":null}',
    ]);
    applyObject(ns, 'consumerqueues', 'payments', {});
    expect((await getObject(ns, 'consumerqueues', 'payments'))?.status?.['subscriptions']).toBeUndefined();

    operator = await start();
    await waitForCondition(ns, 'consumerqueues', 'payments', 'Ready', 'True');
    await eventually(
      async () => ((await subscriptionsTo(topicArn, queueArn)).length === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: 'the subscription nobody asks for to be removed',
      },
    );
  });
});
