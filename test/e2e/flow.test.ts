// The end-to-end flow on a real cluster: kind prepared by test/e2e/run.sh, or the local bed's real
// node prepared by test/e2e/run-local.sh. The samples become SNS topics, SQS queues and running
// services; orders posted to the order service end PAID; a burst of orders scales the payment
// service up and, once drained, back down, and every order of the burst ends PAID through the
// scale-in's SIGTERM drains; deleting the samples removes every AWS resource they owned.
// The environment varies, the flow does not: E2E_OVERLAY (the samples' overlay), E2E_AWS_ENDPOINT
// (AWS as the test reaches it; else a port-forward to moto in e2e-infra), E2E_REPORT (a JSON file
// for the pods' start-up times and the drains seen).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ListSubscriptionsCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../integration/support/bed.ts';

const run = promisify(execFile);
const context = process.env['E2E_KUBE_CONTEXT'] ?? 'kind-pubsub-e2e';
const withServices = process.env['E2E_SERVICES'] === '1';
const NAMESPACE = 'shop';
const PREFIX = `pubsub_${NAMESPACE}_`;
const OVERLAY = process.env['E2E_OVERLAY'] ?? 'test/e2e/shop';
const AWS_ENDPOINT = process.env['E2E_AWS_ENDPOINT'];
const REPORT = process.env['E2E_REPORT'];

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--context', context, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Polls every 2 s until `probe` returns a value, for up to five minutes unless told otherwise. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> =>
  eventually(probe, { what, timeoutMs, intervalMs: 2_000 });

/** `kubectl port-forward` to a Service; resolves with the local base URL once it listens. */
async function portForward(namespace: string, service: string, port: number, localPort: number) {
  const child: ChildProcess = spawn(
    'kubectl',
    ['--context', context, '-n', namespace, 'port-forward', `svc/${service}`, `${localPort}:${port}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Forwarding from')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`port-forward to ${service} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${localPort}`, stop: () => child.kill() };
}

interface Condition {
  type: string;
  status: string;
}
interface Resource {
  kind: string;
  metadata: { name: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    replicas?: number;
    desiredReplicas?: number;
  };
}

const isTrue = (r: Resource, type: string) =>
  r.status?.conditions?.some((c) => c.type === type && c.status === 'True');

async function resources(): Promise<Resource[]> {
  return (JSON.parse(await kubectl('-n', NAMESPACE, 'get', 'pubsub', '-o', 'json')) as { items: Resource[] })
    .items;
}

interface PodJson {
  metadata: { name: string; creationTimestamp: string };
  status?: {
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: { state?: { running?: object; terminated?: object } }[];
  };
}

async function pods(namespace: string, selector?: string): Promise<PodJson[]> {
  const args = ['-n', namespace, 'get', 'pods', '-o', 'json', ...(selector ? ['-l', selector] : [])];
  return (JSON.parse(await kubectl(...args)) as { items: PodJson[] }).items;
}

/** Seconds from each pod's creation to its Ready condition, for the pods that are Ready. */
async function startupSeconds(namespace: string, selector?: string): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  for (const pod of await pods(namespace, selector)) {
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
    if (ready?.lastTransitionTime)
      times[pod.metadata.name] =
        (Date.parse(ready.lastTransitionTime) - Date.parse(pod.metadata.creationTimestamp)) / 1000;
  }
  return times;
}

/** What the run observed, written to E2E_REPORT when it is set. */
const report: { podStartupSeconds: Record<string, number>; drains: (Drain & { cause: string })[] } = {
  podStartupSeconds: {},
  drains: [],
};

/** One scaled-in pod's consumer: what it held at SIGTERM, and what became of it. */
interface Drain {
  pod: string;
  inFlightAtSigterm: number;
  finished: number;
  released: number;
}

/** Follows the logs of every pod matching `selector` until stopped, so a deleted pod's last lines stay. */
function followLogs(namespace: string, selector: string) {
  const logs = new Map<string, string[]>();
  const children: ChildProcess[] = [];
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      for (const pod of await pods(namespace, selector).catch(() => [])) {
        const started = pod.status?.containerStatuses?.some((c) => c.state?.running ?? c.state?.terminated);
        if (!started || logs.has(pod.metadata.name)) continue;
        const lines: string[] = [];
        logs.set(pod.metadata.name, lines);
        const child = spawn(
          'kubectl',
          ['--context', context, '-n', namespace, 'logs', '-f', pod.metadata.name],
          {
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        let rest = '';
        child.stdout.on('data', (chunk: Buffer) => {
          const parts = (rest + chunk.toString()).split('\n');
          rest = parts.pop() ?? '';
          lines.push(...parts);
        });
        children.push(child);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };
  const polling = poll();
  return {
    logs,
    stop: async () => {
      stopped = true;
      await polling;
      for (const child of children) child.kill();
    },
  };
}

/** The consumer's own account of a drain: its 'draining' and 'consumer stopped' log records. */
function drainOf(pod: string, lines: string[]): Drain | undefined {
  const records = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as { msg?: string; inFlight?: number; finished?: number; released?: number }];
    } catch {
      return [];
    }
  });
  const draining = records.find((r) => r.msg === 'draining');
  const stopped = records.find((r) => r.msg === 'consumer stopped');
  if (!draining || !stopped) return undefined;
  return {
    pod,
    inFlightAtSigterm: draining.inFlight ?? 0,
    finished: stopped.finished ?? 0,
    released: stopped.released ?? 0,
  };
}

let moto: Awaited<ReturnType<typeof portForward>> | undefined;
let sqs: SQSClient;
let sns: SNSClient;

beforeAll(async () => {
  if (!AWS_ENDPOINT) moto = await portForward('e2e-infra', 'moto', 5000, 15000);
  const aws = {
    endpoint: AWS_ENDPOINT ?? moto?.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  sqs = new SQSClient(aws);
  sns = new SNSClient(aws);
});
afterAll(() => {
  moto?.stop();
  sqs?.destroy();
  sns?.destroy();
  if (REPORT) {
    mkdirSync(dirname(REPORT), { recursive: true });
    writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
  }
  console.log('[e2e] pods: seconds from creation to Ready', report.podStartupSeconds);
  console.log('[e2e] scale-in drains', report.drains);
});

async function awsResourcesOfShop() {
  const queues = (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: PREFIX }))).QueueUrls ?? [];
  const topics = ((await sns.send(new ListTopicsCommand({}))).Topics ?? [])
    .map((t) => t.TopicArn ?? '')
    .filter((arn) => arn.includes(`:${PREFIX}`));
  const subscriptions = ((await sns.send(new ListSubscriptionsCommand({}))).Subscriptions ?? []).filter((s) =>
    (s.TopicArn ?? '').includes(`:${PREFIX}`),
  );
  return { queues, topics, subscriptions };
}

describe('the samples on a real cluster', () => {
  it('become ready topics, queues and services', async () => {
    await kubectl('apply', '-k', OVERLAY);
    const ready = await until('every sample Ready and Synced for its generation', async () => {
      const all = await resources();
      const wanted = all.filter((r) => withServices || r.kind !== 'EcommerceService');
      const done = wanted.every(
        (r) =>
          isTrue(r, 'Ready') &&
          isTrue(r, 'Synced') &&
          (r.status?.observedGeneration ?? 0) >= (r.metadata.generation ?? 0),
      );
      return all.length === 8 && done ? all : undefined;
    });
    expect(ready.map((r) => r.metadata.name).sort()).toHaveLength(8);
    Object.assign(
      report.podStartupSeconds,
      await startupSeconds('pubsub-system'),
      await startupSeconds(NAMESPACE),
    );
    const aws = await awsResourcesOfShop();
    // payment-orders, order-payment-results, notifications, each with a DLQ.
    expect(aws.queues).toHaveLength(6);
    expect(aws.topics).toHaveLength(2);
    // payment-orders, order-payment-results and notifications (twice).
    expect(aws.subscriptions).toHaveLength(4);
  });

  it('runs the operator from its image as the chart sets it: two replicas, one leader, restricted, read-only', async () => {
    const ns = 'pubsub-system';
    const deployment = JSON.parse(
      await kubectl('-n', ns, 'get', 'deployment', 'pubsub-operator', '-o', 'json'),
    ) as {
      status: { readyReplicas?: number };
      spec: {
        template: {
          spec: {
            securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
            containers: {
              securityContext?: {
                readOnlyRootFilesystem?: boolean;
                allowPrivilegeEscalation?: boolean;
                capabilities?: { drop?: string[] };
              };
            }[];
          };
        };
      };
    };
    expect(deployment.status.readyReplicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.containers[0]?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const names = (await pods(ns, 'app.kubernetes.io/name=pubsub-operator')).map((p) => p.metadata.name);
    const holder = await until('a leader holding the lease', async () => {
      const identity = await kubectl(
        '-n',
        ns,
        'get',
        'lease',
        'pubsub-operator',
        '-o',
        'jsonpath={.spec.holderIdentity}',
      );
      return names.some((name) => identity.includes(name)) ? identity : undefined;
    });
    expect(holder).toBeTruthy();
    // The container really runs read-only and as the image's non-root user.
    const probe = await kubectl(
      '-n',
      ns,
      'exec',
      names[0] ?? '',
      '--',
      'node',
      '-e',
      'let w; try { require("fs").writeFileSync("/app/probe", ""); w = "writable" } catch (e) { w = e.code } console.log(w, process.getuid())',
    );
    expect(probe.trim()).toBe('EROFS 65532');
  });

  it.runIf(withServices)('takes orders and follows each to PAID', async () => {
    const api = await portForward(NAMESPACE, 'order-service', 8080, 18080);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${api.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `e2e-${Date.now()}-${i}` },
          body: JSON.stringify({
            customerId: `customer-${i}`,
            email: `customer-${i}@example.com`,
            items: [{ sku: 'book-1', quantity: 1 + i, unitPriceCents: 1250 }],
            currency: 'EUR',
          }),
        });
        expect(response.status).toBe(202);
        ids.push(((await response.json()) as { orderId: string }).orderId);
      }
      for (const id of ids) {
        const status = await until(`order ${id} PAID`, async () => {
          const order = (await (await fetch(`${api.url}/orders/${id}`)).json()) as { status: string };
          return order.status === 'PAID' ? order.status : undefined;
        });
        expect(status).toBe('PAID');
      }
    } finally {
      api.stop();
    }
  });

  it.runIf(withServices)(
    'scales the payment service with its backlog, up and back down, losing no order to the drains',
    async () => {
      const api = await portForward(NAMESPACE, 'order-service', 8080, 18081);
      const payment = 'app.kubernetes.io/name=payment-service';
      const followed = followLogs(NAMESPACE, payment);
      const replicas = async () =>
        Number(
          await kubectl(
            '-n',
            NAMESPACE,
            'get',
            'deployment',
            'payment-service',
            '-o',
            'jsonpath={.spec.replicas}',
          ),
        );
      let survivors: string[] = [];
      let deletedDuringBacklog: string | undefined;
      try {
        expect(await replicas()).toBe(1);
        const first = new Set((await pods(NAMESPACE, payment)).map((p) => p.metadata.name));
        // 200 orders at once: far more than one replica's 5-message target.
        const ids = await Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const response = await fetch(`${api.url}/orders`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                customerId: `burst-${i}`,
                email: `burst-${i}@example.com`,
                items: [{ sku: 'pen', quantity: 1, unitPriceCents: 199 }],
                currency: 'EUR',
              }),
            });
            expect(response.status).toBe(202);
            return ((await response.json()) as { orderId: string }).orderId;
          }),
        );
        const peak = await until('payment-service scaled up', async () =>
          (await replicas()) > 1 ? replicas() : undefined,
        );
        expect(peak).toBeGreaterThan(1);
        // A pod taken away while the backlog is still there (as a node drain or a rollout would):
        // its SIGTERM comes with messages in hand.
        const busy = [...first][0] ?? '';
        await kubectl('-n', NAMESPACE, 'delete', 'pod', busy, '--wait=false');
        deletedDuringBacklog = busy;
        const added = await until('the added payment pods Ready', async () => {
          const times = await startupSeconds(NAMESPACE, payment);
          const fresh = Object.entries(times).filter(([name]) => !first.has(name));
          return fresh.length > 0 ? Object.fromEntries(fresh) : undefined;
        });
        Object.assign(report.podStartupSeconds, added);
        const settled = await until(
          'payment-service back at one replica',
          async () => ((await replicas()) === 1 ? 1 : undefined),
          600_000,
        );
        expect(settled).toBe(1);
        // Every order of the burst is paid: the drains of the pods taken away lost none.
        let unpaid = [...ids];
        await until(
          'every order of the burst PAID',
          async () => {
            const statuses = await Promise.all(
              unpaid.map(async (id) => {
                const order = (await (await fetch(`${api.url}/orders/${id}`)).json()) as { status: string };
                return [id, order.status] as const;
              }),
            );
            unpaid = statuses.filter(([, status]) => status !== 'PAID').map(([id]) => id);
            return unpaid.length === 0 ? true : undefined;
          },
          300_000,
        );
        survivors = await until('the scaled-in pods gone', async () => {
          const left = (await pods(NAMESPACE, payment)).map((p) => p.metadata.name);
          return left.length === 1 ? left : undefined;
        });
      } finally {
        await followed.stop();
        api.stop();
      }
      // Each pod that went away drained on SIGTERM: what it held was finished or handed back.
      const gone = [...followed.logs.keys()].filter((name) => !survivors.includes(name));
      for (const name of gone) {
        const drain = drainOf(name, followed.logs.get(name) ?? []);
        expect(drain, `${name} logged its drain`).toBeDefined();
        if (!drain) continue;
        expect(drain.finished + drain.released).toBeGreaterThanOrEqual(drain.inFlightAtSigterm);
        report.drains.push({
          ...drain,
          cause: name === deletedDuringBacklog ? 'deleted during the backlog' : 'scale-in',
        });
      }
      expect(report.drains.length).toBeGreaterThan(0);
    },
  );

  it('leave nothing in AWS once deleted', async () => {
    await kubectl('delete', '-k', OVERLAY, '--wait=true', '--timeout=300s');
    const left = await until('every topic, queue and subscription of the samples gone', async () => {
      const aws = await awsResourcesOfShop();
      return aws.queues.length + aws.topics.length + aws.subscriptions.length === 0 ? aws : undefined;
    });
    expect(left).toEqual({ queues: [], topics: [], subscriptions: [] });
  });
});
