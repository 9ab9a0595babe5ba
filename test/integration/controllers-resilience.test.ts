// The operator under failure: a crash between the AWS create and the status write, AWS down
// during a delete, throttling and 5xx answers, and two replicas with one leader.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { FaultProxy } from '../support/fault-proxy.ts';
import { bedEnv, kubeConfig, repoRoot, uniqueName } from './support/bed.ts';
import { installCrds } from './support/crds.ts';
import {
  applyObject,
  conditionOf,
  deleteAll,
  deleteObject,
  getObject,
  queueUrl,
  subscriptionsTo,
  waitForCondition,
  waitGone,
} from './support/controllers.ts';
import { startOperator, type LogLine, type OperatorProcess } from './support/operator.ts';

const core = kubeConfig().makeApiClient(CoreV1Api);
const running: OperatorProcess[] = [];
const namespaces: string[] = [];

async function namespace(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name } } });
  namespaces.push(name);
  return name;
}

async function operator(opts: Parameters<typeof startOperator>[0]): Promise<OperatorProcess> {
  const op = await startOperator(opts);
  running.push(op);
  return op;
}

beforeAll(installCrds);
afterAll(async () => {
  for (const op of running) await op.kill();
  for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
});

/** A kubeconfig for a ServiceAccount that may do everything the controllers need except write status. */
async function identityWithoutStatus(ns: string): Promise<string> {
  const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  const name = 'no-status';
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name },
      rules: [
        {
          apiGroups: ['pubsub.ecommerce.io'],
          resources: ['eventtopics', 'consumerqueues'],
          verbs: ['get', 'list', 'watch', 'patch', 'update'],
        },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
        // The topics' and queues' connection-details ConfigMaps: their informer must sync.
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    },
  });
  const { status } = await core.createNamespacedServiceAccountToken({
    name,
    namespace: ns,
    body: { spec: { audiences: [] } },
  });
  const cluster = kubeConfig().getCurrentCluster();
  const path = `${repoRoot}.local/${ns}-no-status.kubeconfig`;
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'bed', cluster: { server: cluster?.server, 'certificate-authority': cluster?.caFile } },
      ],
      users: [{ name, user: { token: status?.token } }],
      contexts: [{ name, context: { cluster: 'bed', user: name, namespace: ns } }],
      'current-context': name,
    }),
  );
  return path;
}

describe('a crash between the AWS create and the status write', () => {
  it('leaves no duplicate: the restarted operator finds and adopts what it made', async () => {
    const ns = await namespace('crash');
    const clusterName = uniqueName('crash');
    const first = await operator({ namespaces: [ns], clusterName, env: { PUBSUB_LEADER_ELECT: 'false' } });
    applyObject(ns, 'eventtopics', 'src', {});
    const topic = await waitForCondition(ns, 'eventtopics', 'src', 'Ready', 'True');
    const topicArn = String(topic.status?.['topicArn']);
    await first.stop();

    // This identity may create in AWS but is refused every status write: the process dies
    // with the queue and its DLQ made and none of it recorded. It makes no subscription: the
    // topic of a new subscription is written into status before Subscribe, so a subscription
    // never exists that no status write could lead back to.
    const crippled = await operator({
      namespaces: [ns],
      clusterName,
      kubeconfig: await identityWithoutStatus(ns),
      env: { PUBSUB_LEADER_ELECT: 'false' },
    });
    applyObject(ns, 'consumerqueues', 'orders', { subscriptions: [{ topicRef: { name: 'src' } }] });
    const queueArn = `arn:aws:sqs:${bedEnv()['AWS_REGION']}:123456789012:pubsub_${ns}_orders`;
    await crippled.waitForLog(
      (l: LogLine) => String(l['msg']).includes('reconcile failed') && l['name'] === 'orders',
    );
    await waitFor(async () => (await queueUrl(`pubsub_${ns}_orders`)) !== undefined);
    await crippled.waitForLog(
      (l: LogLine) => String(l['msg']).includes('reconcile failed') && l['name'] === 'orders',
    );
    expect(await subscriptionsTo(topicArn, queueArn)).toHaveLength(0);
    await crippled.kill();
    expect((await getObject(ns, 'consumerqueues', 'orders'))?.status?.['queueUrl']).toBeUndefined();

    await operator({ namespaces: [ns], clusterName, env: { PUBSUB_LEADER_ELECT: 'false' } });
    const cq = await waitForCondition(ns, 'consumerqueues', 'orders', 'Ready', 'True');
    const subscriptions = await subscriptionsTo(topicArn, queueArn);
    expect(subscriptions).toHaveLength(1);
    expect((cq.status?.['subscriptions'] as { subscriptionArn: string }[])[0]?.subscriptionArn).toBe(
      subscriptions[0],
    );
    expect(cq.status?.['queueUrl']).toBe(await queueUrl(`pubsub_${ns}_orders`));
    await deleteAll(ns, ['consumerqueues', 'eventtopics']);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('AWS trouble', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '');
  });
  afterAll(async () => proxy.stop());

  it('retries throttling and 5xx answers with backoff until the queue is made', async () => {
    const ns = await namespace('throttle');
    const clusterName = uniqueName('throttle');
    proxy.inject({ fault: { kind: 'throttle' }, service: 'sqs', operation: 'CreateQueue', times: 4 });
    proxy.inject({
      fault: { kind: 'server-error', status: 503 },
      service: 'sqs',
      operation: 'GetQueueUrl',
      times: 2,
    });
    const op = await operator({
      namespaces: [ns],
      clusterName,
      env: { PUBSUB_LEADER_ELECT: 'false', AWS_ENDPOINT_URL: proxy.endpoint, PUBSUB_AWS_MAX_ATTEMPTS: '2' },
    });
    applyObject(ns, 'consumerqueues', 'busy', { deadLetter: { enabled: false } });
    await waitForCondition(ns, 'consumerqueues', 'busy', 'Ready', 'True');
    expect(proxy.faultsServed()).toBe(6);
    const failures = op.lines.filter((l) => l['msg'] === 'reconcile failed' && l['name'] === 'busy');
    expect(failures.map((l) => l['reason'])).toContain('Throttled');
    expect(failures.map((l) => l['reason'])).toContain('AwsUnavailable');
    await deleteAll(ns, ['consumerqueues']);
    await op.stop();
  });

  it('keeps the finalizer while AWS is down during a delete, and finishes once it is back', async () => {
    const ns = await namespace('down');
    const clusterName = uniqueName('down');
    const op = await operator({
      namespaces: [ns],
      clusterName,
      env: { PUBSUB_LEADER_ELECT: 'false', AWS_ENDPOINT_URL: proxy.endpoint, PUBSUB_AWS_MAX_ATTEMPTS: '1' },
    });
    applyObject(ns, 'consumerqueues', 'doomed', {});
    await waitForCondition(ns, 'consumerqueues', 'doomed', 'Ready', 'True');
    await proxy.down();
    await deleteObject(ns, 'consumerqueues', 'doomed');
    await waitForCondition(ns, 'consumerqueues', 'doomed', 'Synced', 'False', 'AwsUnavailable');
    await new Promise((r) => setTimeout(r, 3_000));
    const stuck = await getObject(ns, 'consumerqueues', 'doomed');
    expect(stuck?.metadata.deletionTimestamp).toBeTruthy();
    expect(stuck?.metadata.finalizers).toContain('pubsub.ecommerce.io/cleanup');
    expect(await queueUrl(`pubsub_${ns}_doomed`)).toBeTruthy();

    await proxy.up();
    await waitGone(ns, 'consumerqueues', 'doomed', 90_000);
    expect(await queueUrl(`pubsub_${ns}_doomed`)).toBeUndefined();
    expect(await queueUrl(`pubsub_${ns}_doomed_dlq`)).toBeUndefined();
    expect(conditionOf(stuck, 'Synced')?.message).toMatch(/ECONNREFUSED|connect|socket/i);
    await op.stop();
  });
});

describe('two operator replicas', () => {
  it('elect one leader, and the other takes over within the lease duration when it dies', async () => {
    const ns = await namespace('leader');
    const clusterName = uniqueName('leader');
    const lease = {
      PUBSUB_LEASE_DURATION_SECONDS: '6',
      PUBSUB_RENEW_DEADLINE_SECONDS: '4',
      PUBSUB_RETRY_PERIOD_SECONDS: '1',
    };
    const a = await operator({ namespaces: [ns], clusterName, env: lease });
    await a.waitForLog((l) => l['msg'] === 'became leader');
    const b = await operator({ namespaces: [ns], clusterName, env: lease });
    await b.waitForLog((l) => l['msg'] === 'campaigning for leadership');

    applyObject(ns, 'eventtopics', 'first', {});
    await waitForCondition(ns, 'eventtopics', 'first', 'Ready', 'True');
    const reconciledBy = (op: OperatorProcess) =>
      op.lines.some((l) => l['controller'] === 'eventtopic' && l['name'] === 'first');
    expect(reconciledBy(a)).toBe(true);
    expect(reconciledBy(b)).toBe(false);
    expect(b.lines.some((l) => l['msg'] === 'became leader')).toBe(false);

    const killedAt = Date.now();
    await a.kill();
    await b.waitForLog((l) => l['msg'] === 'became leader', 20_000);
    const failoverMs = Date.now() - killedAt;
    // The Lease expires 6 s after the last renewal; a standby tries every second. The slack is for a
    // loaded machine scheduling the standby's timers late.
    console.log(`failover took ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(6_000 + 1_000 + 3_000);
    applyObject(ns, 'eventtopics', 'second', {});
    await waitForCondition(ns, 'eventtopics', 'second', 'Ready', 'True');

    await deleteAll(ns, ['eventtopics']);
    expect(await b.stop()).toBe(0);
    expect(b.lines.some((l) => l['msg'] === 'released the lease')).toBe(true);
  });
});
