// The bed's ArgoCD (hack/testbed/argocd.sh) as a GitOps user meets it: a git repository it reads
// from, Applications in its namespace, and the sync and health it reports on them.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { eventually, parseEnvFile, repoRoot } from '../integration/support/bed.ts';
import { kubectl } from '../integration/support/crds.ts';

export const argocdEnvFile = `${repoRoot}.local/argocd-env.sh`;

let cached: Record<string, string> | undefined;
/** The exports `hack/testbed/argocd.sh up` wrote. */
export function argocdEnv(): Record<string, string> {
  cached ??= parseEnvFile(readFileSync(argocdEnvFile, 'utf8'));
  for (const name of ['ARGOCD_NAMESPACE', 'ARGOCD_GIT_ROOT', 'ARGOCD_GIT_URL', 'ARGOCD_VERSION']) {
    if (!cached[name]) throw new Error(`${argocdEnvFile} has no ${name}; run 'make argocd-up'`);
  }
  return cached;
}

const git = (cwd: string, args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'GitOps user',
      GIT_AUTHOR_EMAIL: 'gitops@example.com',
      GIT_COMMITTER_NAME: 'GitOps user',
      GIT_COMMITTER_EMAIL: 'gitops@example.com',
    },
  }).trim();

/** What the Applications read: the chart, the CRDs, the samples and deploy/argocd, as in this repo. */
const PUBLISHED = ['charts/operator', 'config/crd', 'config/samples', 'samples', 'deploy/argocd'];

export interface GitRepository {
  /** The URL ArgoCD clones (git://, served by the bed's git daemon). */
  url: string;
  /** The work tree a user edits and commits in. */
  workTree: string;
  /** Edits files of the work tree, commits and pushes to main; returns the new commit. */
  commit(message: string, edit: (workTree: string) => void): string;
  remove(): void;
}

/** A bare repository served to ArgoCD holding this repo's published folders on branch main. */
export function publishRepository(name: string): GitRepository {
  const { ARGOCD_GIT_ROOT: root = '', ARGOCD_GIT_URL: base = '' } = argocdEnv();
  const bare = join(root, `${name}.git`);
  mkdirSync(bare, { recursive: true });
  git(bare, ['init', '--bare', '--initial-branch=main', '--quiet']);
  const workTree = mkdtempSync(join(tmpdir(), `${name}-`));
  git(workTree, ['init', '--initial-branch=main', '--quiet']);
  for (const path of PUBLISHED) {
    mkdirSync(dirname(join(workTree, path)), { recursive: true });
    cpSync(join(repoRoot, path), join(workTree, path), { recursive: true });
  }
  git(workTree, ['add', '-A']);
  git(workTree, ['commit', '--quiet', '-m', 'The operator chart and the samples']);
  git(workTree, ['remote', 'add', 'origin', bare]);
  git(workTree, ['push', '--quiet', 'origin', 'main']);
  return {
    url: `${base}/${name}.git`,
    workTree,
    commit(message, edit) {
      edit(workTree);
      git(workTree, ['commit', '--quiet', '-a', '-m', message]);
      git(workTree, ['push', '--quiet', 'origin', 'main']);
      return git(workTree, ['rev-parse', 'HEAD']);
    },
    remove() {
      rmSync(workTree, { recursive: true, force: true });
      rmSync(bare, { recursive: true, force: true });
    },
  };
}

export interface ResourceStatus {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: string;
  health?: { status?: string; message?: string };
}

export interface Application {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    reconciledAt?: string;
    resources?: ResourceStatus[];
    conditions?: { type: string; message: string }[];
    operationState?: {
      phase?: string;
      message?: string;
      syncResult?: {
        revision?: string;
        resources?: { kind: string; name: string; status: string; message?: string }[];
      };
    };
  };
}

/** The Application, or undefined when it does not exist. */
export function application(name: string): Application | undefined {
  try {
    return JSON.parse(
      kubectl([
        'get',
        '-n',
        argocdEnv()['ARGOCD_NAMESPACE'] ?? '',
        'applications.argoproj.io',
        name,
        '-o',
        'json',
      ]),
    ) as Application;
  } catch (error) {
    if (error instanceof Error && /NotFound|not found/.test(error.message)) return undefined;
    throw error;
  }
}

/** One line that says where an Application stands, for timeouts and failures. */
export function describeApplication(app: Application | undefined): string {
  if (!app) return 'no such Application';
  const s = app.status ?? {};
  const unhealthy = (s.resources ?? [])
    .filter((r) => r.status !== 'Synced' || (r.health && r.health.status !== 'Healthy'))
    .map(
      (r) => `${r.kind}/${r.name}: ${r.status ?? '?'} ${r.health?.status ?? ''} ${r.health?.message ?? ''}`,
    );
  return [
    `sync ${s.sync?.status ?? '?'} at ${s.sync?.revision?.slice(0, 8) ?? '?'}`,
    `health ${s.health?.status ?? '?'}`,
    `operation ${s.operationState?.phase ?? '-'} ${s.operationState?.message ?? ''}`,
    ...(s.conditions ?? []).map((c) => `${c.type}: ${c.message}`),
    ...unhealthy,
  ].join('; ');
}

/** Waits until `accept` holds for the Application; the timeout names where it stood last. */
export async function waitForApplication(
  name: string,
  accept: (app: Application) => boolean,
  what: string,
  timeoutMs = 240_000,
): Promise<Application> {
  let last: Application | undefined;
  try {
    return await eventually(
      () => {
        last = application(name);
        return Promise.resolve(last && accept(last) ? last : undefined);
      },
      { timeoutMs, intervalMs: 1000, what: `${name} ${what}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${describeApplication(last)}`, { cause: error });
  }
}

export const isSyncedAndHealthy = (app: Application, revision?: string): boolean =>
  app.status?.sync?.status === 'Synced' &&
  app.status.health?.status === 'Healthy' &&
  (revision === undefined || app.status.sync.revision === revision);

/** Asks ArgoCD to look at git now, as the CLI's `argocd app get --refresh` or a webhook does. */
export function refresh(name: string, kind: 'normal' | 'hard' = 'normal'): void {
  kubectl([
    'annotate',
    '--overwrite',
    '-n',
    argocdEnv()['ARGOCD_NAMESPACE'] ?? '',
    'applications.argoproj.io',
    name,
    `argocd.argoproj.io/refresh=${kind}`,
  ]);
}

export function resourceOf(app: Application, kind: string, name: string): ResourceStatus | undefined {
  return app.status?.resources?.find((r) => r.kind === kind && r.name === name);
}
