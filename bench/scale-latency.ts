// How long the built-in scaler takes from a backlog appearing to the Deployment's replicas changing,
// at the default poll interval (10 s). Runs the real operator against the bed: for each run, a fresh
// namespace with the samples, a burst of messages into the payment queue, and the time until
// spec.replicas of payment-service changes. Prints one line per run and a summary.
//
//   node bench/scale-latency.ts [--runs 3] [--messages 30]
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeConfig, uniqueName } from '../test/integration/support/bed.ts';
import { installCrds, kubectl } from '../test/integration/support/crds.ts';
import { deleteAll, waitForCondition } from '../test/integration/support/controllers.ts';
import { getJson, queueUrlOf, sendMessages } from '../test/integration/support/ecommerce.ts';
import { startOperator } from '../test/integration/support/operator.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, messages: { type: 'string', default: '30' } },
});
const runs = Number(values.runs);
const messages = Number(values.messages);

const replicasOf = (ns: string) =>
  getJson<{ spec?: { replicas?: number } }>(ns, 'deployment', 'payment-service')?.spec?.replicas;

async function measure(): Promise<number> {
  const ns = uniqueName('scale-latency');
  const core = kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('bench'),
    // The operator's defaults, except leader election (one process) and a quiet log.
    env: { PUBSUB_LEADER_ELECT: 'false', PUBSUB_RESYNC_PERIOD_SECONDS: '300', LOG_LEVEL: 'info' },
  });
  try {
    kubectl(['apply', '-n', ns, '-k', 'samples']);
    await waitForCondition(ns, 'ecommerceservices', 'payment-service', 'Ready', 'True', undefined, 120_000);
    // Let a poll or two pass so the measurement starts at a random point of the poll cycle.
    await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 10_000));
    const before = replicasOf(ns);
    const url = await queueUrlOf(ns, 'payment-orders');
    const start = Date.now();
    await sendMessages(url, messages);
    for (;;) {
      if (replicasOf(ns) !== before) return Date.now() - start;
      if (Date.now() - start > 120_000) throw new Error('replicas did not change within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
    await operator.stop();
    await core.deleteNamespace({ name: ns });
  }
}

await installCrds();
const results: number[] = [];
for (let i = 1; i <= runs; i++) {
  const ms = await measure();
  results.push(ms);
  console.log(`run ${i}: backlog of ${messages} → replicas changed after ${(ms / 1000).toFixed(1)} s`);
}
const sorted = [...results].sort((a, b) => a - b);
const mean = results.reduce((a, b) => a + b, 0) / results.length;
console.log(
  `scale-up latency at the default 10 s poll: min ${(sorted[0]! / 1000).toFixed(1)} s, mean ${(mean / 1000).toFixed(1)} s, max ${(sorted.at(-1)! / 1000).toFixed(1)} s over ${runs} runs`,
);
