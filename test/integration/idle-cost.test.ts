// What an idle operator costs the API server: nothing. A topic, a queue and a Builtin-scaled
// service that consumes it are left alone across several scaler polls and resyncs; every request
// the operator sends goes through a counting proxy, and none of them may be a write. The owned
// informers watch only the operator's own objects: an unlabelled Deployment and ServiceAccount
// created in the watched namespace never enter its caches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl } from './support/crds.ts';
import {
  applyObject,
  deleteAll,
  deleteObject,
  getObject,
  waitForCondition,
  waitGone,
} from './support/controllers.ts';
import { CountingKubeProxy } from './support/kube-proxy.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('idle');
// Deleted by the last test, with its objects: made and removed here, not by crdTestNamespace.
const doomed = uniqueName('idle-gone');
let proxy: CountingKubeProxy;
let operator: OperatorProcess;

beforeAll(async () => {
  kubectl(['create', 'namespace', doomed]);
  proxy = await CountingKubeProxy.start(bedEnv()['KUBECONFIG'] ?? '', { keepBodiesOf: /\/events$/ });
  operator = await startOperator({
    namespaces: [ns, doomed],
    clusterName: uniqueName('idle'),
    kubeconfig: proxy.kubeconfig,
    // Resyncs come round every ten seconds (the shortest allowed), so some fall into the idle window.
    env: { PUBSUB_LEADER_ELECT: 'false', PUBSUB_RESYNC_PERIOD_SECONDS: '10' },
  });
});

afterAll(async () => {
  kubectl(['delete', 'namespace', doomed, '--ignore-not-found', '--wait=false']);
  kubectl(['delete', '-n', ns, 'deployment/unrelated', 'serviceaccount/unrelated', '--ignore-not-found']);
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  await proxy?.stop();
});

const reconciles = (controller: string, name: string) =>
  operator.lines.filter(
    (l) => l['msg'] === 'reconciled' && l['controller'] === controller && l['name'] === name,
  ).length;

const scrape = () => fetch(`http://127.0.0.1:${operator.httpPort}/metrics`).then((r) => r.text());

function cachedObjects(metrics: string, informer: string): number {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`pubsub_informer_cached_objects{informer="${informer}"}`));
  if (!line) throw new Error(`no cached-objects figure for ${informer}`);
  return Number(line.split(' ').pop());
}

describe('an idle operator', () => {
  it('sends no write to the API server across scaler polls and resyncs', async () => {
    applyObject(ns, 'eventtopics', 'orders', {});
    applyObject(ns, 'consumerqueues', 'work', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    applyObject(ns, 'ecommerceservices', 'worker', {
      image: 'ghcr.io/example/worker:1.0.0',
      port: 8080,
      consumes: { queueRef: { name: 'work' } },
      scaling: {
        engine: 'Builtin',
        minReplicas: 1,
        maxReplicas: 3,
        queueDepth: { pollIntervalSeconds: 5 },
      },
    });
    await waitForCondition(ns, 'eventtopics', 'orders', 'Ready', 'True');
    await waitForCondition(ns, 'consumerqueues', 'work', 'Ready', 'True');
    await waitForCondition(ns, 'ecommerceservices', 'worker', 'Ready', 'True', undefined, 90_000);
    // The pod's start is the last change the operator reports; then everything is idle.
    await eventually(
      async () => {
        const svc = await getObject(ns, 'ecommerceservices', 'worker');
        return svc?.status?.['readyReplicas'] === 1 ? svc : undefined;
      },
      { timeoutMs: 90_000, what: 'the worker to report its ready replica' },
    );
    const versions = async () =>
      Promise.all(
        (
          [
            ['eventtopics', 'orders'],
            ['consumerqueues', 'work'],
            ['ecommerceservices', 'worker'],
          ] as const
        ).map(async ([plural, name]) => (await getObject(ns, plural, name))?.metadata),
      );
    // Idle from here: the last report of the pod's start (the Deployment's status reaches the
    // service's a little later on a loaded machine) has landed once nothing moves for two polls.
    const before = await eventually(
      async () => {
        const first = await versions();
        await new Promise((r) => setTimeout(r, 10_000));
        return JSON.stringify(await versions()) === JSON.stringify(first) ? first : undefined;
      },
      { timeoutMs: 90_000, what: 'the three objects to stop changing' },
    );
    proxy.reset();
    const polls = reconciles('ecommerceservice', 'worker');
    const queueRuns = reconciles('consumerqueue', 'work');
    const topicRuns = reconciles('eventtopic', 'orders');

    // Three poll intervals of the scaler, and at least one resync of the queue and the topic.
    await new Promise((r) => setTimeout(r, 16_000));
    expect(reconciles('ecommerceservice', 'worker')).toBeGreaterThanOrEqual(polls + 3);
    await operator.waitForLog(
      () => reconciles('consumerqueue', 'work') > queueRuns && reconciles('eventtopic', 'orders') > topicRuns,
      60_000,
    );
    const writes = proxy.writes(`/namespaces/${ns}/`);
    expect(writes.map((w) => `${w.verb} ${w.path}`)).toEqual([]);
    // Status unchanged: the same resourceVersion on all three.
    expect(await versions()).toEqual(before);
    // Nothing on the way was an error: an expected conflict of the finalizer patch is not one.
    const errors = operator.lines.filter((l) => ['error', 'fatal', 50, 60].includes(l.level as never));
    expect(errors.map((l) => l.msg)).toEqual([]);
  });

  it('keeps unrelated Deployments and ServiceAccounts out of its caches', async () => {
    const before = await scrape();
    const deployments = cachedObjects(before, 'deployments');
    const accounts = cachedObjects(before, 'serviceaccounts');
    // The worker's own: one Deployment and one ServiceAccount.
    expect(deployments).toBe(1);
    expect(accounts).toBe(1);

    kubectl(['create', 'serviceaccount', '-n', ns, 'unrelated']);
    kubectl(['create', 'deployment', '-n', ns, 'unrelated', '--image=ghcr.io/example/other:1.0.0']);
    // The operator's own Deployment changing afterwards reaches its cache through the same watch,
    // after the unrelated ones: once it is there, they would be too.
    kubectl(['annotate', '-n', ns, 'deployment/worker', `touched=${Date.now()}`]);
    await new Promise((r) => setTimeout(r, 3_000));
    const after = await scrape();
    expect(cachedObjects(after, 'deployments')).toBe(deployments);
    expect(cachedObjects(after, 'serviceaccounts')).toBe(accounts);
  });

  it('finds and adopts an owned object without the label, as an older version made it', async () => {
    kubectl(['label', '-n', ns, 'serviceaccount/worker', 'app.kubernetes.io/managed-by-']);
    await eventually(
      () => {
        const labels = JSON.parse(
          kubectl(['get', '-n', ns, 'serviceaccount/worker', '-o', 'jsonpath={.metadata.labels}']) || '{}',
        ) as Record<string, string>;
        return Promise.resolve(labels['app.kubernetes.io/managed-by'] === 'pubsub-operator' || undefined);
      },
      { timeoutMs: 30_000, what: 'the label put back on the ServiceAccount' },
    );
  });

  it('still refuses an unlabelled object of that name that is not its own', async () => {
    // The unrelated ServiceAccount is in no cache; the service that names it must not take it over.
    applyObject(ns, 'ecommerceservices', 'borrower', {
      image: 'ghcr.io/example/worker:1.0.0',
      serviceAccountName: 'unrelated',
      scaling: { engine: 'Builtin', minReplicas: 1, maxReplicas: 1 },
    });
    await waitForCondition(ns, 'ecommerceservices', 'borrower', 'Ready', 'False', 'NotOwned');
    const owners = kubectl([
      'get',
      '-n',
      ns,
      'serviceaccount/unrelated',
      '-o',
      'jsonpath={.metadata.ownerReferences}',
    ]);
    expect(owners).toBe('');
  });

  it('sends no more Events into a namespace once the API server says it is being deleted', async () => {
    applyObject(doomed, 'eventtopics', 'orders', {});
    applyObject(doomed, 'consumerqueues', 'work', { subscriptions: [{ topicRef: { name: 'orders' } }] });
    await waitForCondition(doomed, 'consumerqueues', 'work', 'Ready', 'True');
    proxy.reset();
    // Deleting the namespace deletes the topic and the queue; each deletion has Events to tell.
    kubectl(['delete', 'namespace', doomed, '--wait=false']);
    await eventually(
      () => {
        try {
          kubectl(['get', 'namespace', doomed]);
          return Promise.resolve(undefined);
        } catch {
          return Promise.resolve(true);
        }
      },
      { timeoutMs: 90_000, what: `namespace ${doomed} gone` },
    );
    // The operator learns of the deletion from the first refusal. Requests it had already sent, or
    // queued on a busy connection, may still arrive after that; an Event it decides on later may not.
    const refusals = proxy.writes(`/namespaces/${doomed}/events`).filter((e) => e.status === 403);
    expect(refusals.length).toBeGreaterThan(0);
    const learned = operator.lines.find(
      (l) => l.msg === 'namespace is being deleted: no more events to it' && l['namespace'] === doomed,
    );
    expect(learned, 'the operator logs when it stops sending Events to a namespace').toBeDefined();
    const learnedAt = Date.parse(String(learned?.['time']));
    const decidedLater = proxy
      .writes(`/namespaces/${doomed}/events`)
      .filter((e) => e.verb === 'CREATE')
      .map((e) => JSON.parse(e.body ?? '{}') as { eventTime?: string; reason?: string })
      .filter((e) => Date.parse(e.eventTime ?? '') > learnedAt)
      .map((e) => `${e.reason} at ${e.eventTime}`);
    expect(decidedLater).toEqual([]);
  });

  it('deletes a queue whose topic is already gone without an error or a backoff', async () => {
    applyObject(ns, 'eventtopics', 'short-lived', {});
    applyObject(ns, 'consumerqueues', 'outlives', { subscriptions: [{ topicRef: { name: 'short-lived' } }] });
    await waitForCondition(ns, 'consumerqueues', 'outlives', 'Ready', 'True');
    const from = operator.lines.length;
    await deleteObject(ns, 'eventtopics', 'short-lived');
    await waitGone(ns, 'eventtopics', 'short-lived');
    await deleteObject(ns, 'consumerqueues', 'outlives');
    await waitGone(ns, 'consumerqueues', 'outlives');
    // Only these two objects' lines: the file's other objects (a refused service among them) are
    // resynced every ten seconds by the same operator.
    const troubles = operator.lines
      .slice(from)
      .filter((l) => ['short-lived', 'outlives'].includes(String(l['name'])))
      .filter((l) => ['error', 'fatal', 'warn', 40, 50, 60].includes(l.level as never));
    expect(troubles.map((l) => `${l.msg}: ${JSON.stringify(l['err'] ?? '')}`)).toEqual([]);
  });
});
