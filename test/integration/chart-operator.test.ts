// The chart's RBAC is enough for the real operator: installed with helm in namespaced mode, the
// operator runs as the chart's ServiceAccount (a TokenRequest token) and brings the samples to
// Ready without a single refusal from the apiserver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeConfig, uniqueName } from './support/bed.ts';
import { installChart, type InstalledChart } from './support/chart.ts';
import { installCrds, kubectl } from './support/crds.ts';
import { deleteAll, waitForCondition } from './support/controllers.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const home = uniqueName('chart-op');
const shop = uniqueName('chart-shop');
const clusterName = uniqueName('chart');
let chart: InstalledChart;
let operator: OperatorProcess;

beforeAll(async () => {
  await installCrds();
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: shop } } });
  chart = await installChart(home, { watchNamespaces: [shop], operator: { clusterName } });
  operator = await startOperator({
    namespaces: [shop],
    clusterName,
    kubeconfig: chart.kubeconfigPath(),
    leaseName: chart.leaseName,
    env: { PUBSUB_LEADER_ELECTION_NAMESPACE: home },
  });
});

afterAll(async () => {
  await deleteAll(shop, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  await chart?.uninstall();
  await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name: shop });
});

describe('the operator as the chart ServiceAccount', () => {
  it('takes the Lease in its own namespace and brings the sample topics, queues and services to Ready', async () => {
    await operator.waitForLog((l) => l['msg'] === 'became leader');
    kubectl(['apply', '-n', shop, '-k', 'samples']);
    for (const name of ['order-events', 'payment-events'])
      await waitForCondition(shop, 'eventtopics', name, 'Ready', 'True');
    for (const name of ['payment-orders', 'order-payment-results', 'notifications']) {
      await waitForCondition(shop, 'consumerqueues', name, 'Ready', 'True');
    }
    for (const name of ['order-service', 'payment-service', 'notification-service']) {
      await waitForCondition(shop, 'ecommerceservices', name, 'Ready', 'True', undefined, 120_000);
    }
    const refusals = operator.lines.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l)));
    expect(refusals).toEqual([]);
  });
});
