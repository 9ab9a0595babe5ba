// The end-to-end flow on a kind cluster prepared by test/e2e/run.sh: the samples become SNS topics,
// SQS queues and running services; orders posted to the order service end PAID; a burst of orders
// scales the payment service up and, once drained, back down; deleting the samples removes every
// AWS resource they owned.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
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
const OVERLAY = 'test/e2e/shop';

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

let moto: Awaited<ReturnType<typeof portForward>>;
let sqs: SQSClient;
let sns: SNSClient;

beforeAll(async () => {
  moto = await portForward('e2e-infra', 'moto', 5000, 15000);
  const aws = {
    endpoint: moto.url,
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

describe('the samples on kind', () => {
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
    const aws = await awsResourcesOfShop();
    // payment-orders, order-payment-results, notifications, each with a DLQ.
    expect(aws.queues).toHaveLength(6);
    expect(aws.topics).toHaveLength(2);
    // payment-orders, order-payment-results and notifications (twice).
    expect(aws.subscriptions).toHaveLength(4);
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

  it.runIf(withServices)('scales the payment service with its backlog, up and back down', async () => {
    const api = await portForward(NAMESPACE, 'order-service', 8080, 18081);
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
    try {
      expect(await replicas()).toBe(1);
      // 200 orders at once: far more than one replica's 5-message target.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`${api.url}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              customerId: `burst-${i}`,
              email: `burst-${i}@example.com`,
              items: [{ sku: 'pen', quantity: 1, unitPriceCents: 199 }],
              currency: 'EUR',
            }),
          }),
        ),
      );
      const peak = await until('payment-service scaled up', async () =>
        (await replicas()) > 1 ? replicas() : undefined,
      );
      expect(peak).toBeGreaterThan(1);
      const settled = await until(
        'payment-service back at one replica',
        async () => ((await replicas()) === 1 ? 1 : undefined),
        600_000,
      );
      expect(settled).toBe(1);
    } finally {
      api.stop();
    }
  });

  it('leave nothing in AWS once deleted', async () => {
    await kubectl('delete', '-k', OVERLAY, '--wait=true', '--timeout=300s');
    const left = await until('every topic, queue and subscription of the samples gone', async () => {
      const aws = await awsResourcesOfShop();
      return aws.queues.length + aws.topics.length + aws.subscriptions.length === 0 ? aws : undefined;
    });
    expect(left).toEqual({ queues: [], topics: [], subscriptions: [] });
  });
});
