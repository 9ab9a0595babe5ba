// A GitOps user with a real ArgoCD (hack/testbed/argocd.sh, `make test-argocd-sync`): the operator
// chart and the samples pushed to a git repository, the two Applications of
// deploy/argocd/applications.yaml pointed at it, the health checks of deploy/argocd/argocd-cm.yaml
// loaded. Pods cannot run on the bed's KWOK nodes: KWOK marks the chart's operator pods Running, so
// ArgoCD judges the chart's Deployment as it would in a cluster, and the real operator runs as a
// local process with that Deployment's environment and ServiceAccount, holding its Lease.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand, PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { bedEnv, eventually, repoRoot } from '../integration/support/bed.ts';
import { serviceAccountKubeconfig } from '../integration/support/chart.ts';
import { kubectl } from '../integration/support/crds.ts';
import {
  deleteAll,
  getObject,
  queueAttributes,
  queueUrl,
  sns,
  sqs,
} from '../integration/support/controllers.ts';
import { getJson, type Deployment } from '../integration/support/ecommerce.ts';
import { startOperator, type OperatorProcess } from '../integration/support/operator.ts';
import {
  application,
  argocdEnv,
  describeApplication,
  isSyncedAndHealthy,
  publishRepository,
  refresh,
  resourceOf,
  waitForApplication,
  type GitRepository,
} from './support.ts';

const OPERATOR_APP = 'pubsub-operator';
const SHOP_APP = 'pubsub-shop';
const OPERATOR_NAMESPACE = 'pubsub-system';
const SHOP = 'shop';
// Unique per run: every AWS name starts with it, so "nothing left in AWS" is exact.
const namePrefix = `argo${randomBytes(3).toString('hex')}`;
const clusterName = `argocd-${namePrefix}`;
const physical = (name: string) => `${namePrefix}_${SHOP}_${name}`;

let repo: GitRepository;
let operator: OperatorProcess | undefined;
let operatorKubeconfigDir: string | undefined;

/** deploy/argocd/applications.yaml with the user's two edits: the repository and the Helm values. */
function applicationsForThisCluster(repoURL: string): Record<string, unknown>[] {
  const text = readFileSync(join(repoRoot, 'deploy/argocd/applications.yaml'), 'utf8');
  const env = bedEnv();
  return parseAllDocuments(text).map((doc) => {
    const app = doc.toJS() as {
      metadata: { name: string; namespace?: string };
      spec: {
        source: {
          repoURL: string;
          targetRevision: string;
          helm?: { valuesObject?: Record<string, unknown> };
        };
      };
    };
    app.metadata.namespace = argocdEnv()['ARGOCD_NAMESPACE'];
    app.spec.source.repoURL = repoURL;
    app.spec.source.targetRevision = 'main';
    if (app.spec.source.helm?.valuesObject) {
      app.spec.source.helm.valuesObject = {
        ...app.spec.source.helm.valuesObject,
        aws: { region: env['AWS_REGION'], endpointUrl: env['AWS_ENDPOINT_URL'] },
        operator: { clusterName, namePrefix },
      };
    }
    return app;
  });
}

function applyApplication(app: Record<string, unknown>): void {
  kubectl(['apply', '-f', '-'], JSON.stringify(app));
}

/**
 * The operator the chart deployed, run as a local process: the environment of the chart's live
 * Deployment (the pod's namespace for its fieldRef), a token of the chart's ServiceAccount, and the
 * samples' namespace only, so nothing else on the bed is touched.
 */
async function startChartOperator(): Promise<OperatorProcess> {
  const list = JSON.parse(
    kubectl([
      'get',
      '-n',
      OPERATOR_NAMESPACE,
      'deployments',
      '-l',
      'app.kubernetes.io/component=controller',
      '-o',
      'json',
    ]),
  ) as { items: Deployment[] };
  const deployment = list.items[0] as
    | {
        spec: {
          template: {
            spec: {
              serviceAccountName: string;
              containers: {
                env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
              }[];
            };
          };
        };
      }
    | undefined;
  if (!deployment) throw new Error(`no operator Deployment in ${OPERATOR_NAMESPACE}`);
  const env: Record<string, string> = {};
  for (const e of deployment.spec.template.spec.containers[0]?.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = OPERATOR_NAMESPACE;
  }
  delete env['PUBSUB_HTTP_PORT'];
  const serviceAccount = deployment.spec.template.spec.serviceAccountName;
  const token = kubectl([
    'create',
    'token',
    serviceAccount,
    '-n',
    OPERATOR_NAMESPACE,
    '--duration',
    '1h',
  ]).trim();
  const kubeconfig = serviceAccountKubeconfig(OPERATOR_NAMESPACE, serviceAccount, token);
  operatorKubeconfigDir = kubeconfig.dir;
  return startOperator({
    namespaces: [SHOP],
    clusterName: env['PUBSUB_CLUSTER_NAME'] ?? clusterName,
    kubeconfig: kubeconfig.path,
    env: { ...env, PUBSUB_WATCH_NAMESPACES: SHOP },
  });
}

async function awsNamesLeft(): Promise<string[]> {
  const { QueueUrls = [] } = await sqs().send(new ListQueuesCommand({ QueueNamePrefix: `${namePrefix}_` }));
  const topics: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sns().send(new ListTopicsCommand({ NextToken }));
    topics.push(
      ...(page.Topics ?? []).map((t) => t.TopicArn ?? '').filter((arn) => arn.includes(`:${namePrefix}_`)),
    );
    NextToken = page.NextToken;
  } while (NextToken);
  return [...QueueUrls, ...topics];
}

const crdsBefore = (): boolean => {
  try {
    kubectl(['get', 'crd', 'eventtopics.pubsub.ecommerce.io']);
    return true;
  } catch {
    return false;
  }
};
let crdsExistedBefore = true;

beforeAll(() => {
  crdsExistedBefore = crdsBefore();
  repo = publishRepository(`pubsub-operator-${namePrefix}`);
});

afterEach(({ task }) => {
  // When a step fails, say whether the operator was still running and what it said last.
  if (task.result?.state !== 'fail' || !operator) return;
  const exited = operator.child.exitCode ?? operator.child.signalCode;
  console.error(
    `operator ${exited === null ? 'running' : `exited (${exited})`}; last lines:\n` +
      operator.lines
        .slice(-20)
        .map((l) => JSON.stringify(l))
        .join('\n'),
  );
});

afterAll(async () => {
  // What a failed run left in the samples' namespace goes while the operator can still clean up AWS.
  if (operator)
    await deleteAll(SHOP, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  const ns = argocdEnv()['ARGOCD_NAMESPACE'] ?? 'argocd';
  for (const name of [SHOP_APP, OPERATOR_APP]) {
    if (!application(name)) continue;
    // A failed run must not leave an Application blocked on its finalizer.
    kubectl([
      'patch',
      '-n',
      ns,
      'applications.argoproj.io',
      name,
      '--type',
      'merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    kubectl(['delete', '-n', ns, 'applications.argoproj.io', name, '--ignore-not-found', '--wait=false']);
  }
  // The chart's cluster-wide RBAC, which a failed run may leave.
  kubectl([
    'delete',
    'clusterroles,clusterrolebindings',
    '-l',
    `app.kubernetes.io/instance=${OPERATOR_APP}`,
    '--ignore-not-found',
  ]);
  for (const namespace of [SHOP, OPERATOR_NAMESPACE])
    kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  if (operatorKubeconfigDir) rmSync(operatorKubeconfigDir, { recursive: true, force: true });
  repo?.remove();
});

describe(`ArgoCD v${argocdEnv()['ARGOCD_VERSION']} syncs the operator chart and the samples`, () => {
  let apps: Record<string, unknown>[];

  it("syncs the operator chart, and the chart's Deployment is Healthy", async () => {
    apps = applicationsForThisCluster(repo.url);
    const operatorApp = apps.find((a) => (a['metadata'] as { name: string }).name === OPERATOR_APP);
    if (!operatorApp) throw new Error(`deploy/argocd/applications.yaml has no ${OPERATOR_APP}`);
    applyApplication(operatorApp);
    const app = await waitForApplication(OPERATOR_APP, (a) => isSyncedAndHealthy(a), 'Synced and Healthy');
    const deployment = app.status?.resources?.find((r) => r.kind === 'Deployment');
    expect(deployment).toMatchObject({ status: 'Synced', health: { status: 'Healthy' } });
    // skipCrds: the chart's Application owns no CRD.
    expect(app.status?.resources?.filter((r) => r.kind === 'CustomResourceDefinition')).toEqual([]);
  });

  it('syncs the CRDs before the samples; with no operator at work yet the samples are Progressing', async () => {
    const shopApp = apps.find((a) => (a['metadata'] as { name: string }).name === SHOP_APP);
    if (!shopApp) throw new Error(`deploy/argocd/applications.yaml has no ${SHOP_APP}`);
    applyApplication(shopApp);
    const app = await waitForApplication(
      SHOP_APP,
      (a) => a.status?.sync?.status === 'Synced' && a.status.operationState?.phase === 'Succeeded',
      'synced',
    );
    // The health checks are keyed right in argocd-cm: without them a topic would count as Healthy.
    expect(app.status?.health?.status).toBe('Progressing');
    expect(resourceOf(app, 'EventTopic', 'order-events')?.health).toMatchObject({ status: 'Progressing' });
    expect(resourceOf(app, 'ConsumerQueue', 'payment-orders')?.health).toMatchObject({
      status: 'Progressing',
    });
    if (!crdsExistedBefore) {
      // On a bed without the CRDs, the kinds exist only because wave -1 ran before wave 0.
      const created = (kind: string, name: string, namespace?: string) =>
        Date.parse(
          kubectl([
            'get',
            ...(namespace ? ['-n', namespace] : []),
            kind,
            name,
            '-o',
            'jsonpath={.metadata.creationTimestamp}',
          ]),
        );
      expect(created('crd', 'eventtopics.pubsub.ecommerce.io')).toBeLessThanOrEqual(
        created('eventtopics.pubsub.ecommerce.io', 'order-events', SHOP),
      );
    }
  });

  it('turns Healthy once the operator has created the topics, queues and services', async () => {
    operator = await startChartOperator();
    await operator.waitForLog((l) => l['msg'] === 'became leader', 120_000);
    await waitForApplication(SHOP_APP, (a) => isSyncedAndHealthy(a), 'Synced and Healthy');
    expect(await queueUrl(physical('payment-orders'))).toBeDefined();
    // The operator's Application stayed as it was.
    expect(describeApplication(application(OPERATOR_APP))).toMatch(/^sync Synced .*; health Healthy/);
  });

  it('syncs a change committed to git, and the operator reconciles it', async () => {
    const revision = repo.commit('Payment orders: 45 s to handle a message', (tree) => {
      const file = join(tree, 'samples/consumer-queue-payment-orders.yaml');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('visibilityTimeoutSeconds: 30', 'visibilityTimeoutSeconds: 45'),
      );
    });
    refresh(SHOP_APP);
    await waitForApplication(
      SHOP_APP,
      (a) => isSyncedAndHealthy(a, revision),
      `Synced and Healthy at ${revision}`,
    );
    const url = await queueUrl(physical('payment-orders'));
    await eventually(
      async () => ((await queueAttributes(url ?? ''))['VisibilityTimeout'] === '45' ? true : undefined),
      { what: 'VisibilityTimeout 45 in SQS' },
    );
  });

  it("shows a ConsumerQueue AWS refuses as Degraded with the operator's message, and Healthy once fixed", async () => {
    const file = (tree: string) => join(tree, 'samples/consumer-queue-payment-orders.yaml');
    const good = readFileSync(file(repo.workTree), 'utf8');
    // SNS refuses a filter policy whose value is a bare string; only AWS says so.
    const revision = repo.commit('Payment orders: a filter policy SNS refuses', (tree) =>
      writeFileSync(file(tree), good.replace('eventType: [OrderCreated]', 'eventType: OrderCreated')),
    );
    refresh(SHOP_APP);
    const degraded = await waitForApplication(
      SHOP_APP,
      (a) => a.status?.sync?.revision === revision && a.status.health?.status === 'Degraded',
      'Degraded',
    );
    const queue = await getObject(SHOP, 'consumerqueues', 'payment-orders');
    const synced = queue?.status?.conditions?.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'AwsRefused' });
    expect(resourceOf(degraded, 'ConsumerQueue', 'payment-orders')?.health).toEqual({
      status: 'Degraded',
      message: `AwsRefused: ${synced?.message}`,
    });

    const fixed = repo.commit('Payment orders: the filter policy as a list again', (tree) =>
      writeFileSync(file(tree), good),
    );
    refresh(SHOP_APP);
    await waitForApplication(SHOP_APP, (a) => isSyncedAndHealthy(a, fixed), `Synced and Healthy at ${fixed}`);
  });

  it('stays Synced while the scaler sets the replicas of a service', async () => {
    const url = (await queueUrl(physical('payment-orders'))) ?? '';
    // One replica per 5 waiting orders: 15 orders ask for 3.
    for (let batch = 0; batch < 3; batch++) {
      await sqs().send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 5 }, (_, i) => ({
            Id: `m${i}`,
            MessageBody: `{"order":${batch * 5 + i}}`,
          })),
        }),
      );
    }
    const seen = new Set<string>();
    await eventually(
      () => {
        const app = application(SHOP_APP);
        seen.add(app?.status?.sync?.status ?? 'missing');
        const replicas = getJson<Deployment>(SHOP, 'deployment', 'payment-service')?.spec?.replicas ?? 0;
        return Promise.resolve(replicas >= 2 ? replicas : undefined);
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: 'the scaler to add payment-service replicas' },
    );
    // ArgoCD compares again from scratch, and still finds nothing to sync.
    const before = application(SHOP_APP)?.status?.reconciledAt ?? '';
    refresh(SHOP_APP, 'hard');
    const after = await waitForApplication(
      SHOP_APP,
      (a) => (a.status?.reconciledAt ?? '') > before,
      'compared again',
    );
    seen.add(after.status?.sync?.status ?? 'missing');
    expect([...seen]).toEqual(['Synced']);
    await sqs().send(new PurgeQueueCommand({ QueueUrl: url }));
  });

  it('deleting the Applications removes everything they made, and nothing is left in AWS', async () => {
    const ns = argocdEnv()['ARGOCD_NAMESPACE'] ?? '';
    // The consumers have drained the queue (deletion waits for that otherwise).
    await eventually(
      async () => {
        const url = (await queueUrl(physical('payment-orders'))) ?? '';
        const a = await queueAttributes(url);
        return a['ApproximateNumberOfMessages'] === '0' && a['ApproximateNumberOfMessagesNotVisible'] === '0'
          ? true
          : undefined;
      },
      { what: 'payment-orders to be empty' },
    );
    kubectl(['delete', '-n', ns, 'applications.argoproj.io', SHOP_APP, '--wait=false']);
    await eventually(() => Promise.resolve(application(SHOP_APP) ? undefined : true), {
      timeoutMs: 240_000,
      intervalMs: 1000,
      what: `${SHOP_APP} to be deleted (last seen: ${describeApplication(application(SHOP_APP))})`,
    });
    await eventually(
      () => {
        try {
          kubectl(['get', 'namespace', SHOP]);
          return Promise.resolve(undefined);
        } catch {
          return Promise.resolve(true);
        }
      },
      { timeoutMs: 120_000, intervalMs: 1000, what: `namespace ${SHOP} to be gone` },
    );
    expect(await awsNamesLeft()).toEqual([]);
    // Prune=false,Delete=false: the CRDs stay for every other user of the kinds.
    expect(crdsBefore()).toBe(true);

    await operator?.stop();
    operator = undefined;
    kubectl(['delete', '-n', ns, 'applications.argoproj.io', OPERATOR_APP, '--wait=false']);
    await eventually(() => Promise.resolve(application(OPERATOR_APP) ? undefined : true), {
      timeoutMs: 120_000,
      intervalMs: 1000,
      what: `${OPERATOR_APP} to be deleted`,
    });
    const left = kubectl([
      'get',
      '-n',
      OPERATOR_NAMESPACE,
      'deployments,serviceaccounts,services,roles,rolebindings',
      '-o',
      'name',
    ])
      .split('\n')
      .filter((n) => n && !n.endsWith('/default') && !n.includes('kube-root-ca'));
    expect(left).toEqual([]);
    expect(
      kubectl(['get', 'clusterroles', '-o', 'name'])
        .split('\n')
        .filter((n) => n.includes(OPERATOR_APP)),
    ).toEqual([]);
  });
});
