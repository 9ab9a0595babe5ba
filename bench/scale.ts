// What one operator for a whole cluster costs as the number of objects grows: for each N, N
// topic-and-queue units (an EventTopic and a ConsumerQueue with a dead-letter queue subscribed to
// it: topic, two queues, one subscription, the queue policy and the redrive) and M idle
// EcommerceServices (Builtin scaler, 0 replicas on KWOK), with many unrelated Deployments in the
// cluster. The operator runs as the real process (the bundle of `npm run build`, as the image runs it) over all namespaces, behind a
// counting proxy for the apiserver and one for moto. Reports time to 10/50/100 % Ready, AWS calls
// per unit by operation, AWS calls per object over an idle resync window, API-server requests per
// idle service per minute by verb, RSS, heap, event-loop lag and CPU per object converged.
//
//   node bench/scale.ts [--units 100,300] [--services 100] [--unrelated 10000] [--resync 300]
//                       [--service-window 60] [--memory-limit MiB] [--profile] [--skip-idle] [--out file.json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { FaultProxy } from '../test/support/fault-proxy.ts';
import { bedEnv, kubeConfig, repoRoot } from '../test/integration/support/bed.ts';
import { GROUP, installCrds, VERSION, type Plural } from '../test/integration/support/crds.ts';
import { CountingKubeProxy } from '../test/integration/support/kube-proxy.ts';
import { startOperator, type OperatorProcess } from '../test/integration/support/operator.ts';
import { memoryCgroup, type CgroupReading, type MemoryCgroup } from './cgroup.ts';
import { cpuByPid, cpuByThread, cpuSpent, loadAverage, systemCpuSeconds } from './cpu.ts';
import { pool, range } from './pool.ts';

const { values } = parseArgs({
  options: {
    units: { type: 'string', default: '100,300' },
    services: { type: 'string', default: '100' },
    unrelated: { type: 'string', default: '10000' },
    /**
     * The operator's resync period for the run; the idle window of the units is one period. The
     * default is the operator's own, so no sweep falls inside a converge (a shorter one adds its
     * reads to the converge's calls and time).
     */
    resync: { type: 'string', default: '300' },
    'service-window': { type: 'string', default: '60' },
    /** Leave out the idle resync window (a converge's figures only, e.g. to compare settings). */
    'skip-idle': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '16' },
    /** Heap snapshot after the converge and a CPU profile of the process (written at its exit). */
    profile: { type: 'boolean', default: false },
    /** A sampling profile of what the operator allocates until the converge ends (collected objects too). */
    'alloc-profile': { type: 'boolean', default: false },
    /** V8's GC trace of the operator: collections, their pauses and the MB allocated while converging. */
    'trace-gc': { type: 'boolean', default: false },
    out: { type: 'string' },
    /** NODE_OPTIONS of the operator; default: the chart's (values.yaml nodeOptions). */
    'node-options': { type: 'string' },
    /** More environment for the operator, NAME=value,NAME=value (e.g. MALLOC_ARENA_MAX=2). */
    'operator-env': { type: 'string', default: '' },
    /** The operator runs in a memory cgroup of this many MiB; default the chart's limit; 0: none. */
    'memory-limit': { type: 'string' },
  },
});
const chartValues = parse(readFileSync(join(repoRoot, 'charts/operator/values.yaml'), 'utf8')) as {
  nodeOptions?: string;
  resources?: { limits?: { memory?: string } };
};
/** The chart's memory limit in MiB (the figures are compared with it). */
const LIMIT_MIB = Number(/^(\d+)Mi$/.exec(chartValues.resources?.limits?.memory ?? '')?.[1] ?? 256);
const cgroupLimitMiB = Number(values['memory-limit'] ?? LIMIT_MIB);
const nodeOptions = values['node-options'] ?? chartValues.nodeOptions ?? '';
const unitCounts = values.units.split(',').map(Number);
const maxServices = Number(values.services);
const unrelated = Number(values.unrelated);
const resyncSeconds = Number(values.resync);
const serviceWindowSeconds = Number(values['service-window']);
const concurrency = Number(values.concurrency);
const DEFAULT_RESYNC_SECONDS = 300;
const outDir = join(repoRoot, '.local', 'bench-scale');
mkdirSync(outDir, { recursive: true });
const operatorLog = (n: number): string => join(outDir, `operator-${n}.log`);
// The operator runs as the image runs it: the bundle of `npm run build`, not the sources through
// Node's type stripping (which hold more memory).
const builtDir = join(outDir, 'dist');
execFileSync(process.execPath, ['hack/build.ts', join(builtDir, 'main.mjs')], {
  cwd: repoRoot,
  stdio: 'inherit',
});

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight. */
const status = (e: unknown) => (e as { code?: number }).code;

// ---- the cluster's unrelated Deployments -------------------------------------------------------
const UNRELATED_NS = 'bench-scale-unrelated';

/** Makes `count` Deployments of 0 replicas in a namespace of their own, kept between runs. */
async function ensureUnrelated(count: number): Promise<void> {
  if (count === 0) return;
  await core.createNamespace({ body: { metadata: { name: UNRELATED_NS } } }).catch((e: unknown) => {
    if (status(e) !== 409) throw e;
  });
  const have = new Set(
    (await apps.listNamespacedDeployment({ namespace: UNRELATED_NS })).items.map((d) => d.metadata?.name),
  );
  const missing = range(count).filter((i) => !have.has(`unrelated-${i}`));
  const start = Date.now();
  await pool(missing, 32, (i) =>
    apps
      .createNamespacedDeployment({
        namespace: UNRELATED_NS,
        body: {
          metadata: { name: `unrelated-${i}`, labels: { app: `unrelated-${i}`, team: 'someone-else' } },
          spec: {
            // Paused: the controller-manager makes no ReplicaSet for them (it makes about 20 objects
            // a second), so the operator's own Deployments are not queued behind 10,000 others.
            paused: true,
            replicas: 0,
            selector: { matchLabels: { app: `unrelated-${i}` } },
            template: {
              metadata: { labels: { app: `unrelated-${i}`, team: 'someone-else' } },
              spec: { containers: [{ name: 'app', image: 'registry.example/unrelated:1' }] },
            },
          },
        },
      })
      .catch((e: unknown) => {
        if (status(e) !== 409) throw e;
      }),
  );
  if (missing.length > 0)
    console.log(
      `made ${missing.length} unrelated Deployments in ${((Date.now() - start) / 1000).toFixed(0)} s`,
    );
}

/**
 * Paused or not, the controller-manager writes each unrelated Deployment's status (twice: the
 * paused condition, then the status proper); until it has, the services' Deployments wait behind
 * them. Services are measured in a settled cluster. Each look lists 10,000 Deployments, so looks
 * are a minute apart.
 */
async function unrelatedObserved(): Promise<void> {
  for (;;) {
    const pending = (await apps.listNamespacedDeployment({ namespace: UNRELATED_NS })).items.filter(
      (d) => d.status?.observedGeneration !== d.metadata?.generation,
    ).length;
    if (pending === 0) break;
    console.log(`waiting for the controller-manager: ${pending} unrelated Deployments not observed yet`);
    await sleep(60_000);
  }
}

// ---- the operator's process ----------------------------------------------------------------------
interface ProcessSample {
  /** The memory cgroup the operator runs in, when it runs in one. */
  cgroup?: CgroupReading;
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** How long a GET /metrics took. */
  scrapeMs: number;
}

function procStatusKiB(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

async function metrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Reconciles so far of each kind of a unit, from the operator's controller_runtime_reconcile_total. */
async function reconcilesByKind(port: number): Promise<{ eventtopic: number; consumerqueue: number }> {
  const byKind = { eventtopic: 0, consumerqueue: 0 };
  for (const [series, value] of await metrics(port)) {
    const kind = /^controller_runtime_reconcile_total\{controller="(eventtopic|consumerqueue)"/.exec(
      series,
    )?.[1];
    if (kind) byKind[kind as keyof typeof byKind] += value;
  }
  return byKind;
}

async function sample(op: OperatorProcess, cgroup?: MemoryCgroup): Promise<ProcessSample> {
  const pid = op.child.pid ?? 0;
  const started = performance.now();
  const m = await metrics(op.httpPort);
  const scrapeMs = performance.now() - started;
  return {
    ...(cgroup ? { cgroup: cgroup.read() } : {}),
    rssMiB: procStatusKiB(pid, 'VmRSS') / 1024,
    peakRssMiB: procStatusKiB(pid, 'VmHWM') / 1024,
    heapUsedMiB: (m.get('nodejs_heap_size_used_bytes') ?? 0) / MiB,
    heapTotalMiB: (m.get('nodejs_heap_size_total_bytes') ?? 0) / MiB,
    externalMiB: (m.get('nodejs_external_memory_bytes') ?? 0) / MiB,
    lagP99Ms: (m.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000,
    lagMaxMs: (m.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000,
    scrapeMs,
  };
}

/** Samples the process every 2 s until stopped; keeps the worst event-loop lag and the peak RSS. */
function sampler(op: OperatorProcess) {
  let worstP99 = 0;
  let worstMax = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      // As often as a Prometheus would scrape: a scrape costs the operator CPU that grows with N.
      await sleep(10_000);
      const s = await sample(op).catch(() => undefined);
      if (s) {
        worstP99 = Math.max(worstP99, s.lagP99Ms);
        worstMax = Math.max(worstMax, s.lagMaxMs);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worstP99, worstMax };
    },
  };
}

// ---- objects -------------------------------------------------------------------------------------
const topicName = (i: number) => `t-${i}`;
const queueName = (i: number) => `q-${i}`;
const serviceName = (i: number) => `s-${i}`;

function create(namespace: string, plural: Plural, kind: string, name: string, spec: unknown) {
  return custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
  });
}

async function createUnits(namespace: string, n: number): Promise<void> {
  await pool(range(n), concurrency, async (i) => {
    await create(namespace, 'eventtopics', 'EventTopic', topicName(i), {});
    await create(namespace, 'consumerqueues', 'ConsumerQueue', queueName(i), {
      deadLetter: { maxReceiveCount: 3 },
      subscriptions: [{ topicRef: { name: topicName(i) } }],
    });
  });
}

async function createServices(namespace: string, m: number): Promise<void> {
  await pool(range(m), concurrency, (i) =>
    create(namespace, 'ecommerceservices', 'EcommerceService', serviceName(i), {
      image: 'registry.example/worker:1',
      consumes: { queueRef: { name: queueName(i) } },
      identity: { roleArn: 'arn:aws:iam::123456789012:role/bench-worker' },
      scaling: { minReplicas: 0, maxReplicas: 2 },
    }),
  );
}

interface Listed {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

async function listObjects(namespace: string, plural: Plural): Promise<Listed[]> {
  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
  })) as {
    items: Listed[];
  };
  return list.items;
}

async function readyNames(namespace: string, plural: Plural): Promise<Set<string>> {
  return new Set(
    (await listObjects(namespace, plural))
      .filter((o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((o) => o.metadata.name),
  );
}

/** Seconds from `start` until 10, 50 and 100 % of `total` are Ready (`ready` counts them). */
async function timeToReady(
  total: number,
  start: number,
  ready: () => Promise<number>,
  timeoutMs: number,
): Promise<{ p10: number; p50: number; p100: number }> {
  const marks: Record<string, number> = {};
  for (;;) {
    const count = await ready();
    const t = (Date.now() - start) / 1000;
    for (const [label, share] of [
      ['p10', 0.1],
      ['p50', 0.5],
      ['p100', 1],
    ] as const)
      if (marks[label] === undefined && count >= Math.ceil(total * share)) marks[label] = t;
    if (marks['p100'] !== undefined) return { p10: marks['p10']!, p50: marks['p50']!, p100: marks['p100'] };
    if (Date.now() - start > timeoutMs)
      throw new Error(`only ${count} of ${total} Ready after ${t.toFixed(0)} s`);
    // Each look lists every object: at thousands, once a second would load the apiserver and this
    // process as much as the operator. A second per 1,000 counted bounds the times' resolution.
    await sleep(Math.max(1000, total));
  }
}

/** Removes the finalizers of every object of the namespace (the operator is stopped) and deletes it. */
async function teardown(namespace: string): Promise<void> {
  let failed = 0;
  let firstError: string | undefined;
  for (const plural of ['ecommerceservices', 'consumerqueues', 'eventtopics'] as const) {
    await pool(await listObjects(namespace, plural), concurrency, (o) =>
      custom
        .patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            namespace,
            plural,
            name: o.metadata.name,
            body: [{ op: 'remove', path: '/metadata/finalizers' }],
          },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        )
        .catch((e: unknown) => {
          // 422: the object has no finalizers to remove.
          if (status(e) === 422) return;
          failed++;
          firstError ??= String(e).slice(0, 300);
        }),
    );
  }
  if (failed > 0) console.error(`teardown of ${namespace}: ${failed} finalizers not removed: ${firstError}`);
  await core.deleteNamespace({ name: namespace }).catch((e: unknown) => {
    if (status(e) !== 404) throw e;
  });
  await namespaceGone(namespace);
  // moto is the bed's own: dropping everything it holds is the fastest cleanup of N units.
  await fetch(`${bedEnv()['AWS_ENDPOINT_URL']}/moto-api/reset`, { method: 'POST' });
}

/**
 * Waits until the namespace is deleted. The next run's operator watches every namespace: objects of
 * this one still there when it starts would be reconciled (their AWS resources made again after
 * moto's reset) and then deleted, and counted in the next run's calls, memory and time.
 */
async function namespaceGone(namespace: string, timeoutMs = 15 * 60_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      await core.readNamespace({ name: namespace });
    } catch (e) {
      if (status(e) === 404) return;
      throw e;
    }
    if (Date.now() - start > timeoutMs)
      throw new Error(`namespace ${namespace} still there after ${timeoutMs / 1000} s`);
    await sleep(2000);
  }
}

// ---- counting --------------------------------------------------------------------------------------
/** The calls an EventTopic's reconcile makes; all others of a unit are its ConsumerQueue's. */
const TOPIC_OPERATIONS = new Set([
  'GetTopicAttributes',
  'ListTagsForResource',
  'CreateTopic',
  'SetTopicAttributes',
  'TagResource',
  'UntagResource',
  'DeleteTopic',
]);
const isRead = (operation: string) => /^(Get|List|Describe)/.test(operation);

function byOperation(proxy: FaultProxy): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of proxy.requests) out[r.operation] = (out[r.operation] ?? 0) + 1;
  return out;
}

function split(counts: Record<string, number>): { mutating: number; reads: number } {
  let mutating = 0;
  let reads = 0;
  for (const [op, n] of Object.entries(counts))
    if (isRead(op)) reads += n;
    else mutating += n;
  return { mutating, reads };
}

/** `plural` or `plural/subresource` of an API path (`/apis/g/v/namespaces/ns/plural/name/status`). */
function resourceOf(path: string): string {
  const parts = path.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  return [scoped[0], scoped[2]].filter(Boolean).join('/') || path;
}

function byVerb(proxy: CountingKubeProxy): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of proxy.requests()) {
    const key = `${r.verb} ${resourceOf(r.path)}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

// ---- one N -----------------------------------------------------------------------------------------
/** The file ending in `suffix` that appears in `dir` (not in `before`), once its size stops growing. */
async function newFile(dir: string, before: Set<string>, suffix: string): Promise<string | undefined> {
  for (let i = 0; i < 240; i++) {
    await sleep(500);
    const made = readdirSync(dir).find((f) => f.endsWith(suffix) && !before.has(f));
    if (!made) continue;
    const size = () => readFileSync(join(dir, made)).length;
    let last = -1;
    while (size() !== last) {
      last = size();
      await sleep(1000);
    }
    return join(dir, made);
  }
  return undefined;
}

/** What V8's GC trace says of a span of the operator's life (times since it was spawned, ms). */
interface GcSummary {
  scavenges: number;
  scavengePauseMs: number;
  markCompacts: number;
  /** Main-thread pause of the mark-compacts plus their incremental marking steps. */
  markCompactMainThreadMs: number;
  /** Growth of the heap between collections: what was allocated. */
  allocatedMiB: number;
}

/** Sums the `--trace-gc` lines (`1234 ms: Scavenge 41.1 (49.9) -> 39.8 (49.9) MB, pooled: 0 MB, 7.11 / 0.02 ms ...`). */
function gcBetween(lines: readonly { msg?: unknown }[], fromMs: number, toMs: number): GcSummary {
  const summary = {
    scavenges: 0,
    scavengePauseMs: 0,
    markCompacts: 0,
    markCompactMainThreadMs: 0,
    allocatedMiB: 0,
  };
  const trace =
    /(\d+) ms: (Scavenge|Mark-Compact)\S* ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, pooled: \d+ MB, ([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in)?/;
  let heapAfter: number | undefined;
  for (const line of lines) {
    const m = typeof line.msg === 'string' ? trace.exec(line.msg) : null;
    if (!m) continue;
    const [at, kind, before, after, pause, incremental] = [
      Number(m[1]),
      m[2],
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6] ?? 0),
    ];
    const inSpan = at >= fromMs && at <= toMs;
    if (inSpan && heapAfter !== undefined) summary.allocatedMiB += Math.max(0, before - heapAfter);
    heapAfter = after;
    if (!inSpan) continue;
    if (kind === 'Scavenge') {
      summary.scavenges++;
      summary.scavengePauseMs += pause;
    } else {
      summary.markCompacts++;
      summary.markCompactMainThreadMs += pause + incremental;
    }
  }
  return {
    scavenges: summary.scavenges,
    scavengePauseMs: round(summary.scavengePauseMs, 0),
    markCompacts: summary.markCompacts,
    markCompactMainThreadMs: round(summary.markCompactMainThreadMs, 0),
    allocatedMiB: round(summary.allocatedMiB, 0),
  };
}

interface Result {
  units: number;
  services: number;
  load: { start: string; end: string };
  empty: ProcessSample;
  unitsReady: { p10: number; p50: number; p100: number };
  servicesReady?: { p10: number; p50: number; p100: number };
  cpuMsPerObject: number;
  /** The part of cpuMsPerObject spent in the kernel (system calls, page faults). */
  systemCpuMsPerObject: number;
  /** Reconciles per topic and per queue while converging (each is its object's first, at least). */
  convergeReconcilesPerObject: { eventtopic: number; consumerqueue: number };
  /** cpuMsPerObject by thread: the main thread, V8's workers (GC, compilation), the rest. */
  cpuMsPerObjectByThread: { main: number; v8Workers: number; other: number };
  convergeGc?: GcSummary;
  cpuShareWhileConverging: number;
  awsPerUnit: Record<string, number>;
  awsPerUnitSplit: { mutating: number; reads: number };
  /** API-server requests per unit over the converge, by verb and resource (watch events not counted). */
  kubePerUnit: Record<string, number>;
  /** AWS calls per reconcile of each kind in the idle window, by operation. */
  awsPerResync: { eventtopic: Record<string, number>; consumerqueue: Record<string, number> };
  awsPerObjectPerResync: number;
  awsPerObjectPerHourAtDefault: number;
  /** Reconciles per topic or queue in the idle window: the resync sweeps it held. */
  idleReconcilesPerObject: number;
  awsMutatingWhileIdle: number;
  serviceWindow?: {
    kubePerServicePerMinute: Record<string, number>;
    kubeWritesPerServicePerMinute: number;
    awsPerServicePerMinute: Record<string, number>;
  };
  convergeLag: { worstP99Ms: number; worstMaxMs: number };
  afterConverge: ProcessSample;
  afterServices?: ProcessSample;
  heapSnapshot?: string;
  cpuProfile?: string;
}

async function runOne(n: number, m: number): Promise<Result> {
  const namespace = `bench-scale-${n}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // The operator's connections to the proxy stay open as they would to AWS; moto closes each of its own.
  const aws = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '', { keepAlive: true });
  const kube = await CountingKubeProxy.start(bedEnv()['KUBECONFIG'] ?? '');
  const profileDir = join(outDir, `profile-${n}`);
  if (values.profile || values['alloc-profile']) mkdirSync(profileDir, { recursive: true });
  const limited = cgroupLimitMiB > 0 ? memoryCgroup(namespace, cgroupLimitMiB) : undefined;
  if (limited && 'unavailable' in limited)
    console.log(`the operator runs outside any memory cgroup: ${limited.unavailable}`);
  const cgroup = limited && !('unavailable' in limited) ? limited : undefined;
  const operator = await startOperator({
    // --trace-gc is refused in NODE_OPTIONS; its lines reach the operator's stdout.
    nodeArgs: [
      ...(values['trace-gc'] ? ['--trace-gc'] : []),
      ...(values['alloc-profile'] ? ['--import', join(repoRoot, 'bench/alloc-sampler.ts')] : []),
      join(builtDir, 'main.mjs'),
    ],
    ...(cgroup ? { wrap: cgroup.wrap } : {}),
    namespaces: [],
    clusterName: `bench-${Date.now().toString(36)}`,
    kubeconfig: kube.kubeconfig,
    env: {
      AWS_ENDPOINT_URL: aws.endpoint,
      PUBSUB_WATCH_NAMESPACES: '',
      PUBSUB_LEADER_ELECT: 'false',
      PUBSUB_RESYNC_PERIOD_SECONDS: String(resyncSeconds),
      LOG_LEVEL: 'info',
      ...(values['alloc-profile'] ? { ALLOC_PROFILE_DIR: profileDir } : {}),
      ...Object.fromEntries(
        values['operator-env']
          .split(',')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
      NODE_OPTIONS: [
        nodeOptions,
        values.profile
          ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${profileDir} --cpu-prof --cpu-prof-dir=${profileDir}`
          : '',
      ]
        .filter(Boolean)
        .join(' '),
    },
  });
  const pid = operator.child.pid ?? 0;
  const spawned = Date.now();
  const load = { start: loadAverage(), end: '' };
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${operator.httpPort}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (i > 240) throw new Error('operator not ready after 120 s');
      await sleep(500);
    }
    await sleep(3000);
    const empty = await sample(operator, cgroup);
    aws.resetCounts();
    kube.reset();

    // Converge N units.
    const convergeReconciles0 = await reconcilesByKind(operator.httpPort);
    const cpu0 = cpuByPid(pid);
    const system0 = systemCpuSeconds(pid);
    const threads0 = cpuByThread(pid);
    const lag = sampler(operator);
    const start = Date.now();
    const creating = createUnits(namespace, n);
    const unitsReady = await timeToReady(
      n,
      start,
      async () => {
        const [topics, queues] = await Promise.all([
          readyNames(namespace, 'eventtopics'),
          readyNames(namespace, 'consumerqueues'),
        ]);
        return range(n).filter((i) => topics.has(topicName(i)) && queues.has(queueName(i))).length;
      },
      60_000 + n * 1000,
    );
    await creating;
    const cpuSeconds = cpuSpent(cpu0, cpuByPid(pid));
    const systemSeconds = systemCpuSeconds(pid) - system0;
    const threads = cpuByThread(pid);
    const convergeReconciles = await reconcilesByKind(operator.httpPort);
    const convergeGc = values['trace-gc']
      ? gcBetween(operator.lines, start - spawned, start - spawned + unitsReady.p100 * 1000)
      : undefined;
    const convergeLag = await lag.stop();
    const awsCounts = byOperation(aws);
    const kubePerUnit = Object.fromEntries(
      Object.entries(byVerb(kube))
        .sort()
        .map(([k, c]) => [k, round(c / n)]),
    );
    const awsPerUnit = Object.fromEntries(
      Object.entries(awsCounts)
        .sort()
        .map(([op, c]) => [op, round(c / n)]),
    );
    await sleep(5000);
    const afterConverge = await sample(operator, cgroup);
    let heapSnapshot: string | undefined;
    // SIGUSR2 writes the heap snapshot (--profile) and ends the allocation sampling (--alloc-profile).
    const expected = [
      ...(values.profile ? ['.heapsnapshot'] : []),
      ...(values['alloc-profile'] ? ['.heapprofile'] : []),
    ];
    if (expected.length > 0) {
      const before = new Set(readdirSync(profileDir));
      operator.child.kill('SIGUSR2');
      for (const suffix of expected) {
        const written = await newFile(profileDir, before, suffix);
        if (written) console.log(`  written: ${written}`);
        if (suffix === '.heapsnapshot') heapSnapshot = written;
      }
    }

    // One resync window with nothing changing: what the units cost while idle. Each controller's
    // resync timer fires every 0.9-1.1 periods, so a window holds none, one or two sweeps of each
    // kind: the calls of each kind are divided by that kind's reconciles in the window.
    const reconciles = () => reconcilesByKind(operator.httpPort);
    const reconcilesBefore = await reconciles();
    aws.resetCounts();
    if (!values['skip-idle']) await sleep(resyncSeconds * 1000 + 2000);
    const idleCounts = byOperation(aws);
    const reconcilesAfter = await reconciles();
    const idleReconcilesOf = (kind: 'eventtopic' | 'consumerqueue') =>
      reconcilesAfter[kind] - reconcilesBefore[kind];
    const idleReconciles = Math.max(1, idleReconcilesOf('eventtopic') + idleReconcilesOf('consumerqueue'));
    const awsPerResync = {
      eventtopic: {} as Record<string, number>,
      consumerqueue: {} as Record<string, number>,
    };
    for (const [op, c] of Object.entries(idleCounts).sort()) {
      const kind = TOPIC_OPERATIONS.has(op) ? 'eventtopic' : 'consumerqueue';
      awsPerResync[kind][op] = round(c / Math.max(1, idleReconcilesOf(kind)), 3);
    }
    const perResync = (kind: 'eventtopic' | 'consumerqueue') =>
      Object.values(awsPerResync[kind]).reduce((a, b) => a + b, 0);
    // A unit's resync is one of each kind; an object's, the mean of the two.
    const awsPerObjectPerResync = round((perResync('eventtopic') + perResync('consumerqueue')) / 2, 3);
    let awsMutatingWhileIdle = split(idleCounts).mutating;

    // M idle services.
    let servicesReady: Result['servicesReady'];
    let serviceWindow: Result['serviceWindow'];
    let afterServices: ProcessSample | undefined;
    if (m > 0) {
      const sStart = Date.now();
      const creatingServices = createServices(namespace, m);
      servicesReady = await timeToReady(
        m,
        sStart,
        async () => (await readyNames(namespace, 'ecommerceservices')).size,
        60_000 + m * 1000,
      );
      await creatingServices;
      // Let the first polls and their writes pass, then count a window of idleness.
      await sleep(15_000);
      kube.reset();
      aws.resetCounts();
      await sleep(serviceWindowSeconds * 1000);
      const minutes = serviceWindowSeconds / 60;
      const verbs = byVerb(kube);
      const writes = kube.requests().filter((r) => r.write).length;
      // The units' own resync calls fall into this window too: take off their rate from above.
      const awsIdle = Object.fromEntries(
        Object.entries(byOperation(aws)).map(([op, c]) => [
          op,
          Math.max(0, c - (idleCounts[op] ?? 0) * (serviceWindowSeconds / (resyncSeconds + 2))),
        ]),
      );
      awsMutatingWhileIdle += split(awsIdle).mutating;
      serviceWindow = {
        kubePerServicePerMinute: Object.fromEntries(
          Object.entries(verbs)
            .sort()
            .map(([k, c]) => [k, round(c / m / minutes, 3)]),
        ),
        kubeWritesPerServicePerMinute: round(writes / m / minutes, 3),
        awsPerServicePerMinute: Object.fromEntries(
          Object.entries(awsIdle)
            .sort()
            .map(([op, c]) => [op, round(c / m / minutes, 3)]),
        ),
      };
      afterServices = await sample(operator, cgroup);
    }
    load.end = loadAverage();
    const objects = 2 * n;
    return {
      units: n,
      services: m,
      load,
      empty,
      unitsReady,
      ...(servicesReady ? { servicesReady } : {}),
      cpuMsPerObject: round((cpuSeconds * 1000) / objects, 1),
      systemCpuMsPerObject: round((systemSeconds * 1000) / objects, 1),
      convergeReconcilesPerObject: {
        eventtopic: round((convergeReconciles.eventtopic - convergeReconciles0.eventtopic) / n, 2),
        consumerqueue: round((convergeReconciles.consumerqueue - convergeReconciles0.consumerqueue) / n, 2),
      },
      cpuMsPerObjectByThread: {
        main: round(((threads.main - threads0.main) * 1000) / objects, 1),
        v8Workers: round(((threads.v8Workers - threads0.v8Workers) * 1000) / objects, 1),
        other: round(((threads.other - threads0.other) * 1000) / objects, 1),
      },
      cpuShareWhileConverging: round(cpuSeconds / unitsReady.p100, 2),
      ...(convergeGc ? { convergeGc } : {}),
      awsPerUnit,
      kubePerUnit,
      awsPerUnitSplit: (() => {
        const s = split(awsCounts);
        return { mutating: round(s.mutating / n), reads: round(s.reads / n) };
      })(),
      awsPerResync,
      awsPerObjectPerResync,
      awsPerObjectPerHourAtDefault: round(awsPerObjectPerResync * (3600 / DEFAULT_RESYNC_SECONDS), 2),
      idleReconcilesPerObject: round(idleReconciles / objects, 2),
      awsMutatingWhileIdle,
      ...(serviceWindow ? { serviceWindow } : {}),
      convergeLag: { worstP99Ms: round(convergeLag.worstP99, 1), worstMaxMs: round(convergeLag.worstMax, 1) },
      afterConverge,
      ...(afterServices ? { afterServices } : {}),
      ...(heapSnapshot ? { heapSnapshot } : {}),
    };
  } catch (error) {
    console.error(`N=${n} failed; the operator's log is in ${operatorLog(n)}`);
    throw error;
  } finally {
    await operator.stop();
    // Kept after a success too: with --trace-gc it holds every collection, with its reason.
    writeFileSync(operatorLog(n), operator.lines.map((l) => JSON.stringify(l)).join('\n'));
    if (cgroup) {
      const { oomKills } = cgroup.read();
      if (oomKills > 0)
        console.error(`N=${n}: the kernel killed the operator ${oomKills} time(s) at ${cgroup.limitMiB} MiB`);
      cgroup.remove();
    }
    await aws.stop();
    await kube.stop();
    await teardown(namespace).catch((e: unknown) => console.error(`teardown of ${namespace}: ${String(e)}`));
  }
}

// ---- main ------------------------------------------------------------------------------------------
await installCrds();
// A run that was interrupted leaves its namespace behind; a cluster-wide operator would see it.
for (const ns of (await core.listNamespace()).items) {
  const name = ns.metadata?.name ?? '';
  if (/^bench-scale-\d+-/.test(name)) await teardown(name);
}
await ensureUnrelated(unrelated);
if (maxServices > 0) await unrelatedObserved();
console.log(
  `bench-scale: units ${unitCounts.join(',')}, services up to ${maxServices}, ${unrelated} unrelated Deployments, ` +
    `NODE_OPTIONS "${nodeOptions}", ` +
    `resync ${resyncSeconds} s (default ${DEFAULT_RESYNC_SECONDS} s), load ${loadAverage()}, ` +
    `node ${process.version}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`,
);
const results: Result[] = [];
for (const n of unitCounts) {
  const m = Math.min(maxServices, n);
  const r = await runOne(n, m);
  results.push(r);
  const mb = (s: ProcessSample) =>
    `RSS ${s.rssMiB.toFixed(0)} MiB (peak ${s.peakRssMiB.toFixed(0)}), heap ${s.heapUsedMiB.toFixed(0)}/${s.heapTotalMiB.toFixed(0)} MiB`;
  console.log(
    [
      `N=${n} units, M=${m} services (load ${r.load.start} → ${r.load.end})`,
      `  units Ready 10/50/100 %: ${r.unitsReady.p10.toFixed(1)} / ${r.unitsReady.p50.toFixed(1)} / ${r.unitsReady.p100.toFixed(1)} s`,
      r.servicesReady
        ? `  services Ready 10/50/100 %: ${r.servicesReady.p10.toFixed(1)} / ${r.servicesReady.p50.toFixed(1)} / ${r.servicesReady.p100.toFixed(1)} s`
        : '',
      `  CPU ${r.cpuMsPerObject} ms per object converged, ${r.systemCpuMsPerObject} of them in the kernel, ${r.cpuMsPerObjectByThread.main} / ${r.cpuMsPerObjectByThread.v8Workers} / ${r.cpuMsPerObjectByThread.other} on the main thread / V8's workers / others (${(r.cpuShareWhileConverging * 100).toFixed(0)} % of a core)`,
      r.convergeGc ? `  GC while converging: ${JSON.stringify(r.convergeGc)}` : '',
      `  reconciles per object while converging: topic ${r.convergeReconcilesPerObject.eventtopic}, queue ${r.convergeReconcilesPerObject.consumerqueue}`,
      `  AWS calls per unit: ${r.awsPerUnitSplit.mutating} mutating + ${r.awsPerUnitSplit.reads} reads ${JSON.stringify(r.awsPerUnit)}`,
      `  API requests per unit: ${JSON.stringify(r.kubePerUnit)}`,
      `  AWS calls per resync (idle): topic ${JSON.stringify(r.awsPerResync.eventtopic)}, queue ${JSON.stringify(r.awsPerResync.consumerqueue)}; per object ${r.awsPerObjectPerResync}; per object per hour at ${DEFAULT_RESYNC_SECONDS} s: ${r.awsPerObjectPerHourAtDefault}; mutating while idle: ${r.awsMutatingWhileIdle}`,
      r.serviceWindow
        ? `  per idle service per minute: API ${JSON.stringify(r.serviceWindow.kubePerServicePerMinute)} (writes ${r.serviceWindow.kubeWritesPerServicePerMinute}); AWS ${JSON.stringify(r.serviceWindow.awsPerServicePerMinute)}`
        : '',
      `  empty: ${mb(r.empty)}; after converge: ${mb(r.afterConverge)}${r.afterServices ? `; with services: ${mb(r.afterServices)}` : ''}`,
      `  event-loop lag while converging: worst p99 ${r.convergeLag.worstP99Ms} ms, max ${r.convergeLag.worstMaxMs} ms`,
      r.heapSnapshot ? `  heap snapshot: ${r.heapSnapshot}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}
// One table, one column per N, ready for docs/benchmarks.md; and the growth between the first and last N.
const col = (f: (r: Result) => string) => results.map(f).join(' | ');
const rssCell = (s: ProcessSample) =>
  `${s.rssMiB.toFixed(0)} (${((s.rssMiB / LIMIT_MIB) * 100).toFixed(0)} %)`;
const rows: [string, (r: Result) => string][] = [
  ['units (N) / idle services (M)', (r) => `${r.units} / ${r.services}`],
  ['load average at start → end', (r) => `${r.load.start.split(' ')[0]} → ${r.load.end.split(' ')[0]}`],
  [
    'units Ready 10 / 50 / 100 % (s)',
    (r) =>
      `${r.unitsReady.p10.toFixed(1)} / ${r.unitsReady.p50.toFixed(1)} / ${r.unitsReady.p100.toFixed(1)}`,
  ],
  ['services Ready 100 % (s)', (r) => r.servicesReady?.p100.toFixed(1) ?? '-'],
  [
    'AWS calls per unit (mutating + reads)',
    (r) =>
      `${(r.awsPerUnitSplit.mutating + r.awsPerUnitSplit.reads).toFixed(2)} (${r.awsPerUnitSplit.mutating} + ${r.awsPerUnitSplit.reads})`,
  ],
  [
    'API-server requests per unit while converging',
    (r) =>
      Object.values(r.kubePerUnit)
        .reduce((a, b) => a + b, 0)
        .toFixed(2),
  ],
  ['resync sweeps in the idle window (reconciles per object)', (r) => String(r.idleReconcilesPerObject)],
  [
    'AWS calls per resync, idle: topic / queue (per object)',
    (r) => {
      const sum = (c: Record<string, number>) =>
        Object.values(c)
          .reduce((a, b) => a + b, 0)
          .toFixed(2);
      return `${sum(r.awsPerResync.eventtopic)} / ${sum(r.awsPerResync.consumerqueue)} (${r.awsPerObjectPerResync.toFixed(2)})`;
    },
  ],
  [
    `AWS calls per object per hour at ${DEFAULT_RESYNC_SECONDS} s (extrapolated)`,
    (r) => String(r.awsPerObjectPerHourAtDefault),
  ],
  ['mutating AWS calls while idle', (r) => String(r.awsMutatingWhileIdle)],
  [
    'API writes per idle service per minute',
    (r) => String(r.serviceWindow?.kubeWritesPerServicePerMinute ?? '-'),
  ],
  [
    'reconciles per topic / queue while converging',
    (r) => `${r.convergeReconcilesPerObject.eventtopic} / ${r.convergeReconcilesPerObject.consumerqueue}`,
  ],
  ['CPU per object converged (ms)', (r) => String(r.cpuMsPerObject)],
  ['… of it in the kernel (ms)', (r) => String(r.systemCpuMsPerObject)],
  [
    "… main thread / V8's workers (GC, compilation) / others (ms)",
    (r) => {
      const t = r.cpuMsPerObjectByThread;
      return `${t.main} / ${t.v8Workers} / ${t.other}`;
    },
  ],
  ['CPU while converging (share of a core)', (r) => `${(r.cpuShareWhileConverging * 100).toFixed(0)} %`],
  [`RSS empty (MiB, share of ${LIMIT_MIB} MiB)`, (r) => rssCell(r.empty)],
  ['RSS after converge (MiB)', (r) => rssCell(r.afterConverge)],
  ['RSS with services (MiB)', (r) => (r.afterServices ? rssCell(r.afterServices) : '-')],
  ['peak RSS (MiB)', (r) => (r.afterServices ?? r.afterConverge).peakRssMiB.toFixed(0)],
  [
    `in a ${cgroupLimitMiB} MiB memory cgroup: usage after converge / with services (MiB)`,
    (r) =>
      r.afterConverge.cgroup
        ? `${r.afterConverge.cgroup.usageMiB.toFixed(0)} / ${r.afterServices?.cgroup?.usageMiB.toFixed(0) ?? '-'}`
        : '-',
  ],
  [
    '… working set / anonymous, after converge and with services (MiB)',
    (r) => {
      const c = (x: ProcessSample | undefined) =>
        x?.cgroup ? `${x.cgroup.workingSetMiB.toFixed(0)} / ${x.cgroup.anonMiB.toFixed(0)}` : '-';
      return r.afterConverge.cgroup ? `${c(r.afterConverge)}; ${c(r.afterServices)}` : '-';
    },
  ],
  [
    '… peak usage (MiB) / times the limit was reached / OOM kills',
    (r) => {
      const c = (r.afterServices ?? r.afterConverge).cgroup;
      return c ? `${c.peakMiB.toFixed(0)} / ${c.limitHits} / ${c.oomKills}` : '-';
    },
  ],
  ['heap used after converge (MiB)', (r) => (r.afterServices ?? r.afterConverge).heapUsedMiB.toFixed(0)],
  ['a /metrics scrape (ms)', (r) => (r.afterServices ?? r.afterConverge).scrapeMs.toFixed(0)],
  [
    'event-loop lag while converging, worst p99 / max (ms)',
    (r) => `${r.convergeLag.worstP99Ms} / ${r.convergeLag.worstMaxMs}`,
  ],
];
console.log(`\n| | ${col((r) => `N = ${r.units}`)} |\n|---|${results.map(() => '---').join('|')}|`);
for (const [label, f] of rows) console.log(`| ${label} | ${col(f)} |`);
if (results.length > 1) {
  const [a, b] = [results[0]!, results.at(-1)!];
  const per1000 = (x: number, y: number) => (((y - x) / (b.units - a.units)) * 1000).toFixed(1);
  const last = (r: Result) => r.afterServices ?? r.afterConverge;
  console.log(
    `growth from N = ${a.units} to ${b.units}, per 1,000 units: RSS +${per1000(last(a).rssMiB, last(b).rssMiB)} MiB, ` +
      `heap +${per1000(last(a).heapUsedMiB, last(b).heapUsedMiB)} MiB, time to all Ready +${per1000(a.unitsReady.p100, b.unitsReady.p100)} s`,
  );
}
const out = values.out ?? join(outDir, `scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify(results, null, 2));
console.log(`results: ${out}`);
