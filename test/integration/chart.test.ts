// The Helm chart and the kustomize config: they lint and render as documented, config/ is the
// chart's own rendering, and, installed on the bed's real RBAC-enforcing apiserver, the chart's
// ServiceAccount can do everything the operator does and nothing on the list it must never do.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderConfig, staleFiles, helmTemplate } from '../../config/default/render-from-chart.ts';
import { AWS_SETTINGS_ENV } from '../../src/aws/config.ts';
import { admissionObjects } from '../../src/crds/admission.ts';
import { OPERATOR_ENV } from '../../src/config.ts';
import { ensureFinalizer } from '../../src/runtime/finalizers.ts';
import { applyOwned, StatusWriter } from '../../src/runtime/apply.ts';
import { isForbidden, KubeClient } from '../../src/runtime/kube.ts';
import { kubeLeaseClient } from '../../src/runtime/leaderelection.ts';
import type { KubeObject, ResourceRef } from '../../src/runtime/types.ts';
import { eventually, helmPath, kubeConfig, repoRoot, uniqueName } from './support/bed.ts';
import { installCrds } from './support/crds.ts';
import {
  canI,
  chartDir,
  describeCheck,
  helm,
  installChart,
  kubectl,
  renderChart,
  type AccessCheck,
  type InstalledChart,
  type RenderedObject,
} from './support/chart.ts';

const GROUP = 'pubsub.ecommerce.io';
const KINDS = ['eventtopics', 'consumerqueues', 'ecommerceservices'] as const;
const ref = (group: string, plural: string, kind: string, version = 'v1'): ResourceRef => ({
  group,
  version,
  plural,
  kind,
  namespaced: true,
});
const EVENT_TOPICS = ref(GROUP, 'eventtopics', 'EventTopic', 'v1alpha1');
const DEPLOYMENTS = ref('apps', 'deployments', 'Deployment');

type Container = {
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: Record<string, unknown>;
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

const find = (objects: RenderedObject[], kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const containerOf = (objects: RenderedObject[]): Container => {
  const deployment = find(objects, 'Deployment')[0] as unknown as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const container = deployment.spec.template.spec.containers[0];
  if (!container) throw new Error('no container');
  return container;
};
const envOf = (objects: RenderedObject[]) =>
  Object.fromEntries(containerOf(objects).env.map((e) => [e.name, e.value]));

describe('the chart, rendered', () => {
  it('passes helm lint with its defaults, in namespaced mode and with every option on', async () => {
    await helm(['lint', '--strict', chartDir]);
    await helm(['lint', '--strict', chartDir, '--set', 'watchNamespaces={a,b}']);
    await helm([
      'lint',
      '--strict',
      chartDir,
      '--set',
      'metrics.serviceMonitor.enabled=true,serviceAccount.roleArn=arn:aws:iam::123456789012:role/pubsub-operator,aws.endpointUrl=http://moto:5000',
    ]);
  });

  it.each([
    ['a region that is not one', 'aws.region=nowhere', /aws\/region/],
    ['an unknown setting', 'operator.bogus=1', /bogus/],
    ['a name prefix with an underscore', 'operator.namePrefix=a_b', /namePrefix/],
    ['a role ARN that is not one', 'serviceAccount.roleArn=role/x', /roleArn/],
    ['two replicas without leader election', 'leaderElection.enabled=false', /leaderElection.enabled/],
  ])('refuses %s', async (_what, set, message) => {
    await expect(helm(['template', 'x', chartDir, '--set', set])).rejects.toThrow(message);
  });

  it('runs two replicas with leader election, restricted, probed on the http port, with resources', async () => {
    const objects = await renderChart();
    const deployment = find(objects, 'Deployment')[0] as unknown as {
      spec: { replicas: number; template: { spec: { securityContext: Record<string, unknown> } } };
    };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const c = containerOf(objects);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.resources).toMatchObject({ requests: { cpu: '50m', memory: '128Mi' } });
    expect(envOf(objects)).toMatchObject({ PUBSUB_LEADER_ELECT: 'true', PUBSUB_HTTP_PORT: '8080' });
    expect(find(objects, 'PodDisruptionBudget')).toHaveLength(1);
    expect(find(objects, 'Service', 'pubsub-operator-metrics')).toHaveLength(1);
    expect(find(objects, 'ServiceMonitor')).toHaveLength(0);
  });

  it('passes every operator setting as the environment variable the operator reads', async () => {
    const objects = await renderChart({
      operator: {
        clusterName: 'prod-eu',
        namePrefix: 'shop',
        resyncPeriodSeconds: 60,
        resyncPeriodSecondsByKind: { consumerQueue: 30, ecommerceService: 120 },
        logLevel: 'debug',
        maxConcurrentReconciles: 2,
        shutdownGraceSeconds: 40,
      },
      aws: { region: 'eu-west-1', endpointUrl: 'http://moto:5000', retryMode: 'adaptive', maxAttempts: 5 },
      watchNamespaces: ['shop', 'billing'],
      httpPort: 9090,
      extraEnv: [{ name: 'AWS_ACCESS_KEY_ID', value: 'testing' }],
    });
    const env = envOf(objects);
    expect(env).toMatchObject({
      PUBSUB_CLUSTER_NAME: 'prod-eu',
      PUBSUB_NAME_PREFIX: 'shop',
      PUBSUB_RESYNC_PERIOD_SECONDS: '60',
      PUBSUB_CONSUMER_QUEUE_RESYNC_PERIOD_SECONDS: '30',
      PUBSUB_ECOMMERCE_SERVICE_RESYNC_PERIOD_SECONDS: '120',
      LOG_LEVEL: 'debug',
      PUBSUB_MAX_CONCURRENT_RECONCILES: '2',
      PUBSUB_SHUTDOWN_GRACE_SECONDS: '40',
      PUBSUB_WATCH_NAMESPACES: 'shop,billing',
      PUBSUB_HTTP_PORT: '9090',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://moto:5000',
      PUBSUB_AWS_RETRY_MODE: 'adaptive',
      PUBSUB_AWS_MAX_ATTEMPTS: '5',
      AWS_ACCESS_KEY_ID: 'testing',
    });
    // Every variable the chart sets is one the operator reads (or the SDK's credentials, or Node's
    // heap sizing for the pod's memory limit). A kind without its own period gets none: it takes the
    // common one.
    expect(env).not.toHaveProperty('PUBSUB_EVENT_TOPIC_RESYNC_PERIOD_SECONDS');
    expect(env['NODE_OPTIONS']).toContain('--max-old-space-size=');
    const known = new Set<string>([
      ...Object.values(OPERATOR_ENV),
      ...Object.values(AWS_SETTINGS_ENV),
      'AWS_ACCESS_KEY_ID',
      'NODE_OPTIONS',
    ]);
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    const pod = find(objects, 'Deployment')[0] as unknown as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number } } };
    };
    expect(pod.spec.template.spec.terminationGracePeriodSeconds).toBe(45);
    expect(containerOf(objects).ports[0]?.containerPort).toBe(9090);
  });

  it('annotates the ServiceAccount with the IRSA role and renders the ServiceMonitor on request', async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/pubsub-operator';
    const objects = await renderChart({
      serviceAccount: { roleArn },
      metrics: { serviceMonitor: { enabled: true } },
    });
    expect(find(objects, 'ServiceAccount')[0]?.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': roleArn,
    });
    expect(find(objects, 'ServiceMonitor')).toHaveLength(1);
  });

  it('grants cluster-wide with a ClusterRole, or only per watched namespace with Roles', async () => {
    const cluster = await renderChart();
    expect(find(cluster, 'ClusterRole')).toHaveLength(1);
    expect(find(cluster, 'Role').map((r) => r.metadata.name)).toEqual(['pubsub-operator-leader-election']);

    const namespaced = await renderChart({ watchNamespaces: ['shop', 'billing'] });
    expect(find(namespaced, 'ClusterRole')).toHaveLength(0);
    expect(find(namespaced, 'ClusterRoleBinding')).toHaveLength(0);
    const roles = find(namespaced, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
    expect(roles.sort()).toEqual([
      'billing/pubsub-operator',
      'pubsub-system/pubsub-operator-leader-election',
      'shop/pubsub-operator',
    ]);
    expect(find(namespaced, 'RoleBinding')).toHaveLength(3);
  });

  it('grants no wildcard, no Secret, no RBAC and no CRD access', async () => {
    const rules = (await renderChart())
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o) => o['rules'] as Rule[]);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
      expect(rule.apiGroups).not.toContain('rbac.authorization.k8s.io');
      expect(rule.apiGroups).not.toContain('apiextensions.k8s.io');
      expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate', 'bind', 'impersonate']));
    }
  });
});

describe('the admission policies', () => {
  const policyKinds = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
  const committed = () =>
    readFileSync(`${repoRoot}config/crd/admission/topic-references.yaml`, 'utf8')
      .split(/^---$/m)
      .map((text) => parse(text) as KubeObject);

  it('are installed by the chart by default, as config/crd/admission has them', async () => {
    const rendered = (await renderChart()).filter((o) => policyKinds.includes(o.kind));
    const byName = (a: { kind?: string; metadata?: { name?: string } }) => `${a.kind}/${a.metadata?.name}`;
    expect(rendered.map(byName).sort()).toEqual(committed().map(byName).sort());
    for (const object of committed()) {
      const twin = rendered.find((o) => byName(o) === byName(object)) as unknown as KubeObject;
      expect((twin as { spec?: unknown }).spec).toEqual((object as { spec?: unknown }).spec);
    }
  });

  it('are left out with admissionPolicy.enabled=false', async () => {
    const rendered = await renderChart({ admissionPolicy: { enabled: false } });
    expect(rendered.filter((o) => policyKinds.includes(o.kind))).toEqual([]);
  });

  it('are part of config/crd, so `kubectl apply -k config/default` installs them with the CRDs', async () => {
    const objects = (await kubectl(['kustomize', `${repoRoot}config/crd`]))
      .split(/^---$/m)
      .map((text) => parse(text) as KubeObject);
    for (const kind of policyKinds)
      expect(objects.filter((o) => o.kind === kind)).toHaveLength(
        admissionObjects().filter((o) => o['kind'] === kind).length,
      );
  });
});

describe('the kustomize config', () => {
  it('is the chart rendered with its defaults (`make config-from-chart` is up to date)', async () => {
    const files = await renderConfig(helmTemplate(helmPath(), repoRoot));
    expect(staleFiles(repoRoot, files)).toEqual([]);
  });

  it('installs with `kubectl apply -k config/default` (server dry run)', async () => {
    const namespace = 'pubsub-system';
    // Namespaced objects need their namespace for a dry run; create it only if it is missing.
    const existed = await kubectl(['get', 'namespace', namespace]).then(
      () => true,
      () => false,
    );
    if (!existed) await kubectl(['create', 'namespace', namespace]);
    try {
      const out = await kubectl([
        'apply',
        '--server-side',
        '-k',
        `${repoRoot}config/default`,
        '--dry-run=server',
      ]);
      for (const kind of ['clusterrole', 'deployment.apps', 'serviceaccount', 'role.rbac', 'service'])
        expect(out).toContain(kind);
    } finally {
      if (!existed) await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    }
  });

  it('syncs the CRDs in ArgoCD one wave before the samples (deploy/argocd/samples)', async () => {
    const objects = (await kubectl(['kustomize', `${repoRoot}deploy/argocd/samples`]))
      .split(/^---$/m)
      .map((text) => parse(text) as KubeObject);
    const wave = (o: KubeObject) => Number(o.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const samples = objects.filter((o) => o.apiVersion?.startsWith(`${GROUP}/`));
    expect(crds).toHaveLength(3);
    expect(samples.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...crds.map(wave))).toBeLessThan(Math.min(...samples.map(wave)));
    for (const crd of crds)
      expect(crd.metadata?.annotations?.['argocd.argoproj.io/sync-options']).toContain('Prune=false');
    // The admission policies sync with the CRDs, so they are in force before the first sample.
    const policies = objects.filter((o) => o.apiVersion === 'admissionregistration.k8s.io/v1');
    expect(policies).toHaveLength(admissionObjects().length);
    expect(Math.max(...policies.map(wave))).toBeLessThan(Math.min(...samples.map(wave)));
    for (const sample of samples)
      expect(sample.metadata?.annotations?.['argocd.argoproj.io/sync-options']).toContain(
        'SkipDryRunOnMissingResource=true',
      );
  });

  it('puts the samples in their namespace', async () => {
    const objects = (await kubectl(['kustomize', `${repoRoot}config/samples`]))
      .split(/^---$/m)
      .map((text) => parse(text) as KubeObject);
    const kinds = objects.map((o) => o.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['Namespace', 'EventTopic', 'ConsumerQueue', 'EcommerceService']),
    );
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata?.namespace).toBe('shop');
  });
});

// Checks in `ns` (the sample namespace) and `home` (the operator's namespace).
function mustAllow(ns: string, home: string, lease: string): AccessCheck[] {
  const owned = [
    ['apps', 'deployments'],
    ['', 'services'],
    ['', 'serviceaccounts'],
    ['policy', 'poddisruptionbudgets'],
    ['autoscaling', 'horizontalpodautoscalers'],
    ['keda.sh', 'scaledobjects'],
    ['keda.sh', 'triggerauthentications'],
    ['', 'configmaps'], // the connection-details ConfigMaps
  ] as const;
  return [
    ...KINDS.flatMap((resource) => [
      ...['get', 'list', 'watch', 'patch', 'update'].map((verb) => ({
        verb,
        group: GROUP,
        resource,
        namespace: ns,
      })),
      ...['patch', 'update'].flatMap((verb) => [
        { verb, group: GROUP, resource, subresource: 'status', namespace: ns },
        { verb, group: GROUP, resource, subresource: 'finalizers', namespace: ns },
      ]),
    ]),
    ...owned.flatMap(([group, resource]) =>
      ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'].map((verb) => ({
        verb,
        group,
        resource,
        namespace: ns,
      })),
    ),
    { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: ns },
    { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: ns },
    { verb: 'patch', group: 'events.k8s.io', resource: 'events', namespace: ns },
    { verb: 'create', resource: 'events', namespace: ns },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: home },
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease },
  ];
}

function mustRefuse(ns: string, home: string, lease: string): AccessCheck[] {
  return [
    { verb: 'get', resource: 'secrets', namespace: ns },
    { verb: 'list', resource: 'secrets' },
    { verb: 'get', resource: 'secrets', namespace: home },
    { verb: 'create', resource: 'pods', namespace: ns },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns },
    { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: ns },
    { verb: 'delete', resource: 'namespaces', name: ns },
    { verb: 'list', resource: 'nodes' },
    { verb: 'impersonate', resource: 'serviceaccounts', namespace: ns },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'get', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: ns },
    { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: ns },
    ...KINDS.flatMap((resource) => [
      { verb: 'create', group: GROUP, resource, namespace: ns },
      { verb: 'delete', group: GROUP, resource, namespace: ns },
    ]),
    { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: ns },
    { verb: 'create', group: 'apps', resource: 'daemonsets', namespace: ns },
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: ns },
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: home },
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: 'someone-else' },
    {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: home,
      name: 'someone-else',
    },
    { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: lease },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
    { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: home, name: lease },
  ];
}

async function refused(call: Promise<unknown>): Promise<boolean> {
  return call.then(
    () => false,
    (error: unknown) => {
      if (isForbidden(error)) return true;
      throw error;
    },
  );
}

describe('the chart installed on the bed, cluster-wide', () => {
  const home = uniqueName('chart-op');
  const shop = uniqueName('chart-shop');
  let chart: InstalledChart;
  let sa: KubeClient;
  const admin = new KubeClient(kubeConfig());

  beforeAll(async () => {
    // On a fresh bed helm installs the CRDs itself without waiting for them to be served.
    await installCrds();
    await kubectl(['create', 'namespace', shop]);
    chart = await installChart(home, { operator: { clusterName: home } });
    sa = chart.client();
  });
  afterAll(async () => {
    await chart?.uninstall();
    await kubectl(['delete', 'namespace', shop, '--ignore-not-found', '--wait=false']);
  });

  it('creates the ServiceAccount, the Deployment and its pods (on KWOK nodes)', async () => {
    const out = await kubectl(['get', 'deployment', '-n', home, '-o', 'jsonpath={.items[*].spec.replicas}']);
    expect(out).toBe('2');
    await eventually(
      async () => {
        const phases = await kubectl(['get', 'pods', '-n', home, '-o', 'jsonpath={.items[*].status.phase}']);
        return phases === 'Running Running' ? phases : undefined;
      },
      { what: 'two Running operator pods', timeoutMs: 60_000 },
    );
    const who = await sa.request<{ status: { userInfo: { username: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    expect(who.status.userInfo.username).toBe(`system:serviceaccount:${home}:${chart.serviceAccountName}`);
    expect(chart.kubeconfigPath()).toMatch(/kubeconfig$/);
    expect(await chart.serviceAccountToken()).toMatch(/^ey/);
  });

  it('allows everything the operator does', async () => {
    const denied: string[] = [];
    for (const check of mustAllow(shop, home, chart.leaseName))
      if (!(await canI(sa, check))) denied.push(describeCheck(check));
    expect(denied).toEqual([]);
  });

  it('refuses everything the operator must never do', async () => {
    const allowed: string[] = [];
    for (const check of mustRefuse(shop, home, chart.leaseName))
      if (await canI(sa, check)) allowed.push(describeCheck(check));
    expect(allowed).toEqual([]);
  });

  it('lists and watches every kind cluster-wide, adds a finalizer and writes status', async () => {
    for (const plural of KINDS) {
      const path = `/apis/${GROUP}/v1alpha1/${plural}`;
      const list = await sa.request<{ metadata: { resourceVersion: string } }>('GET', path);
      // The watch resolves once the apiserver accepted it (a 403 would reject).
      const stop = await sa.watch(
        path,
        { resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 5 },
        () => undefined,
        () => undefined,
      );
      stop();
    }
    const topic = await admin.create<KubeObject>(EVENT_TOPICS, {
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'EventTopic',
      metadata: { name: 'order-events', namespace: shop },
    });
    const withFinalizer = await ensureFinalizer(sa, topic, `${GROUP}/cleanup`);
    expect(withFinalizer.metadata?.finalizers).toContain(`${GROUP}/cleanup`);
    const written = await new StatusWriter(sa).apply<KubeObject & { status?: { topicArn?: string } }>(topic, {
      topicArn: 'arn:aws:sns:us-east-1:123456789012:pubsub_shop_order-events',
    });
    expect(written.status?.topicArn).toContain('order-events');
    await admin.patch(EVENT_TOPICS, shop, 'order-events', 'merge', { metadata: { finalizers: null } });
  });

  it('server-side applies what an EcommerceService owns, scales it and records events', async () => {
    const owner = await admin.create<KubeObject>(
      ref(GROUP, 'ecommerceservices', 'EcommerceService', 'v1alpha1'),
      {
        apiVersion: `${GROUP}/v1alpha1`,
        kind: 'EcommerceService',
        metadata: { name: 'payment-service', namespace: shop },
        spec: { image: 'ghcr.io/example/payment-service:0.1.0' },
      } as KubeObject,
    );
    const labels = { app: 'payment-service' };
    const meta = { name: 'payment-service', namespace: shop, labels };
    const owned: KubeObject[] = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'x:1' }] } },
        },
      } as KubeObject,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        spec: { selector: labels, ports: [{ port: 80 }] },
      } as KubeObject,
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: meta,
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
      } as KubeObject,
    ];
    for (const obj of owned) {
      const applied = await applyOwned(sa, owner, obj);
      expect(applied.metadata?.ownerReferences?.[0]?.uid).toBe(owner.metadata?.uid);
    }
    const scaled = await sa.patch<KubeObject & { spec: { replicas: number } }>(
      DEPLOYMENTS,
      shop,
      'payment-service',
      'merge',
      { spec: { replicas: 3 } },
      { subresource: 'scale' },
    );
    expect(scaled.spec.replicas).toBe(3);
    await sa.create(ref('events.k8s.io', 'events', 'Event'), {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `payment-service.${Date.now()}`, namespace: shop },
      eventTime: new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
      reportingController: 'pubsub.ecommerce.io/pubsub-operator',
      reportingInstance: 'test',
      action: 'Reconcile',
      reason: 'Synced',
      note: 'chart test',
      type: 'Normal',
      regarding: {
        apiVersion: `${GROUP}/v1alpha1`,
        kind: 'EcommerceService',
        name: 'payment-service',
        namespace: shop,
      },
    } as KubeObject);
    await sa.delete(DEPLOYMENTS, shop, 'payment-service');
  });

  it('holds its Lease in its own namespace and nowhere else', async () => {
    const leases = kubeLeaseClient(sa);
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const name = chart.leaseName;
    await leases.create({
      metadata: { name, namespace: home },
      spec: { holderIdentity: 'a', acquireTime: now },
    });
    const lease = await leases.get(home, name);
    if (!lease) throw new Error('the Lease it created is not there');
    expect(lease.spec?.holderIdentity).toBe('a');
    const updated = await leases.replace({ ...lease, spec: { ...lease.spec, holderIdentity: 'b' } });
    expect(updated.spec?.holderIdentity).toBe('b');
    expect(await refused(leases.get(shop, name))).toBe(true);
    expect(await refused(leases.create({ metadata: { name, namespace: shop }, spec: {} }))).toBe(true);
  });

  it('is refused Secrets, pods, CRDs, RBAC and namespaces for real', async () => {
    const core = (plural: string, kind: string) => ref('', plural, kind);
    expect(await refused(sa.request('GET', `/api/v1/namespaces/${shop}/secrets`))).toBe(true);
    expect(await refused(sa.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'))).toBe(
      true,
    );
    expect(await refused(sa.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles'))).toBe(true);
    expect(
      await refused(
        sa.create(core('pods', 'Pod'), {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: shop },
          spec: { containers: [{ name: 'c', image: 'x' }] },
        } as KubeObject),
      ),
    ).toBe(true);
    expect(await refused(sa.request('DELETE', `/api/v1/namespaces/${shop}`))).toBe(true);
    expect(await refused(sa.delete(EVENT_TOPICS, shop, 'order-events'))).toBe(true);
  });
});

describe('the chart installed on the bed for watched namespaces only', () => {
  const home = uniqueName('chart-nsop');
  const watched = uniqueName('chart-watched');
  const other = uniqueName('chart-other');
  let chart: InstalledChart;
  let sa: KubeClient;

  beforeAll(async () => {
    for (const ns of [watched, other]) await kubectl(['create', 'namespace', ns]);
    chart = await installChart(home, { watchNamespaces: [watched], operator: { clusterName: home } });
    sa = chart.client();
  });
  afterAll(async () => {
    await chart?.uninstall();
    for (const ns of [watched, other])
      await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  });

  it('allows the operator its work in the watched namespace', async () => {
    const denied: string[] = [];
    for (const check of mustAllow(watched, home, chart.leaseName))
      if (!(await canI(sa, check))) denied.push(describeCheck(check));
    expect(denied).toEqual([]);
    await sa.request('GET', `/apis/${GROUP}/v1alpha1/namespaces/${watched}/eventtopics`);
  });

  it('refuses the same work in another namespace and cluster-wide', async () => {
    const allowed: string[] = [];
    const elsewhere = mustAllow(other, home, chart.leaseName).filter((c) => c.namespace === other);
    const clusterWide = KINDS.map((resource) => ({ verb: 'list', group: GROUP, resource }));
    for (const check of [...elsewhere, ...clusterWide, ...mustRefuse(watched, home, chart.leaseName)])
      if (await canI(sa, check)) allowed.push(describeCheck(check));
    expect(allowed).toEqual([]);
    expect(await refused(sa.request('GET', `/apis/${GROUP}/v1alpha1/eventtopics`))).toBe(true);
  });
});

describe('the chart files', () => {
  it('ship the generated CRDs', () => {
    for (const plural of KINDS) {
      const crd = parse(readFileSync(`${chartDir}/crds/${GROUP}_${plural}.yaml`, 'utf8')) as KubeObject;
      expect(crd.kind).toBe('CustomResourceDefinition');
    }
  });
});
