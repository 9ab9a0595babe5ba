// The Helm chart on the bed: render it, install it into a namespace, and act as its ServiceAccount
// with a TokenRequest token, so a test sees exactly what the chart lets the operator do.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../../src/runtime/kube.ts';
import { bedEnv, helmPath, kubeConfig, kubectlPath, repoRoot } from './bed.ts';

const run = promisify(execFile);
export const chartDir = `${repoRoot}charts/operator`;

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Runs a command line tool; rejects with its stderr. */
async function tool(bin: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(bin, args, { maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${bin} ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** helm against the bed. */
export const helm = (args: string[]): Promise<string> =>
  tool(helmPath(), ['--kubeconfig', kubeConfigFile(), ...args]);

/** kubectl against the bed, as its admin unless another kubeconfig is given. */
export const kubectl = (args: string[], kubeconfig = kubeConfigFile()): Promise<string> =>
  tool(kubectlPath(), ['--kubeconfig', kubeconfig, ...args]);

function kubeConfigFile(): string {
  const path = bedEnv()['KUBECONFIG'];
  if (!path) throw new Error("the bed has no KUBECONFIG; run 'make env-up'");
  return path;
}

let valuesDir: string | undefined;
/** Writes `values` to a file helm can read with -f. */
function valuesFile(values: Record<string, unknown>): string {
  valuesDir ??= mkdtempSync(join(tmpdir(), 'pubsub-chart-'));
  const path = join(valuesDir, `values-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(values));
  return path;
}

/** `helm template` of the chart as release `release` in `namespace`, parsed into objects. */
export async function renderChart(
  values: Record<string, unknown> = {},
  { release = 'pubsub-operator', namespace = 'pubsub-system' } = {},
): Promise<RenderedObject[]> {
  const text = await helm([
    'template',
    release,
    chartDir,
    '--namespace',
    namespace,
    '-f',
    valuesFile(values),
  ]);
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as RenderedObject | null)
    .filter((obj): obj is RenderedObject => obj !== null);
}

export interface InstalledChart {
  release: string;
  namespace: string;
  serviceAccountName: string;
  /** The Lease the operator's leader election uses (PUBSUB_LEASE_NAME). */
  leaseName: string;
  /** What helm rendered for the release. */
  objects: RenderedObject[];
  /** A fresh TokenRequest token of the chart's ServiceAccount (one hour). */
  serviceAccountToken(): Promise<string>;
  /** A kubeconfig for the bed's apiserver that authenticates as the chart's ServiceAccount. */
  kubeconfigPath(): string;
  /** A KubeClient (the operator's own) acting as the chart's ServiceAccount. */
  client(): KubeClient;
  uninstall(): Promise<void>;
}

/**
 * Installs the chart with helm as a release named after `namespace` (created when missing). CRDs
 * already on the bed are left as they are (helm skips existing ones); uninstall removes the
 * release and the namespace, never the CRDs.
 */
export async function installChart(
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<InstalledChart> {
  const release = namespace;
  // The admission policies are cluster-wide objects and the bed already has them (installCrds):
  // a release installs them only when the test asks for it.
  values = { admissionPolicy: { enabled: false }, ...values };
  await helm([
    'install',
    release,
    chartDir,
    '--namespace',
    namespace,
    '--create-namespace',
    '-f',
    valuesFile(values),
  ]);
  const objects = await renderChart(values, { release, namespace });
  const serviceAccountName = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name;
  if (!serviceAccountName) throw new Error('the chart rendered no ServiceAccount');
  const leaseName = leaseNameOf(objects);

  const serviceAccountToken = async (): Promise<string> =>
    (await kubectl(['create', 'token', serviceAccountName, '-n', namespace, '--duration', '1h'])).trim();

  const {
    dir,
    path,
    config: sa,
  } = serviceAccountKubeconfig(namespace, serviceAccountName, await serviceAccountToken());

  return {
    release,
    namespace,
    serviceAccountName,
    leaseName,
    objects,
    serviceAccountToken,
    kubeconfigPath: () => path,
    client: () => new KubeClient(sa),
    async uninstall() {
      await helm(['uninstall', release, '--namespace', namespace, '--wait']).catch(() => undefined);
      await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A kubeconfig file for the bed's apiserver that authenticates as a ServiceAccount with `token`
 * (remove `dir` when done).
 */
export function serviceAccountKubeconfig(
  namespace: string,
  serviceAccountName: string,
  token: string,
): { dir: string; path: string; config: KubeConfig } {
  const dir = mkdtempSync(join(tmpdir(), `pubsub-sa-${namespace}-`));
  const path = join(dir, 'kubeconfig');
  const cluster = kubeConfig().getCurrentCluster();
  if (!cluster) throw new Error('the bed kubeconfig has no current cluster');
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: serviceAccountName, token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: serviceAccountName, namespace }],
    currentContext: 'sa',
  });
  writeFileSync(path, config.exportConfig(), { mode: 0o600 });
  return { dir, path, config };
}

function leaseNameOf(objects: RenderedObject[]): string {
  const deployment = objects.find((o) => o.kind === 'Deployment') as
    | { spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } }
    | undefined;
  const env = deployment?.spec?.template?.spec?.containers?.[0]?.env ?? [];
  const lease = env.find((e) => e.name === 'PUBSUB_LEASE_NAME')?.value;
  if (!lease) throw new Error('the chart rendered no PUBSUB_LEASE_NAME');
  return lease;
}

export interface AccessCheck {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Whether the client's user may do `check`, by a SelfSubjectAccessReview. */
export async function canI(client: KubeClient, check: AccessCheck): Promise<boolean> {
  const review = await client.request<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: '', ...check } },
      },
    },
  );
  return review.status?.allowed === true;
}

/** `check` as kubectl would spell it, for test names. */
export function describeCheck(c: AccessCheck): string {
  const resource = `${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.group ? `.${c.group}` : ''}`;
  return `${c.verb} ${resource}${c.name ? `/${c.name}` : ''} ${c.namespace ? `in ${c.namespace}` : 'cluster-wide'}`;
}
