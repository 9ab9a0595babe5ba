// The e-commerce services as real processes (node services/main.ts <service>) against the bed's
// moto and PostgreSQL, on the topics and queues of samples/.
//
// createFlow has the operator make them: it runs the operator (node src/main.ts) on a namespace
// of its own, applies the samples there, waits for Ready, and reads the ARNs and URLs from the
// objects' status and each service's environment from the Deployment the operator rendered.
// With provisioner 'direct' (or PUBSUB_SERVICES_PROVISIONER=direct) it makes the same resources
// without the operator (flow.ts): the samples parsed with the CRDs' zod schemas, the operator's
// pure desired-state functions, its gateways; and the environment as the operator documents it.
// That tells a fault of the services from one of the operator.
import { randomUUID } from 'node:crypto';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { deploymentEnv } from '../../../services/local/environment.ts';
import { eventually, kubeConfig, uniqueName } from './bed.ts';
import { deleteAll, getObject, waitForCondition } from './controllers.ts';
import { installCrds, kubectl } from './crds.ts';
import {
  createDatabase,
  directFlow,
  flowOf,
  ofKind,
  readSamples,
  required,
  serviceEnv,
  startService,
  type Flow,
  type FlowOptions,
  type FlowQueue,
  type ServiceName,
  type ServiceProcess,
  type TestDatabase,
} from './flow.ts';
import { startOperator } from './operator.ts';

export {
  createDatabase,
  queueDepth,
  serviceEnv,
  startService,
  type Flow,
  type FlowOptions,
  type FlowQueue,
  type LogLine,
  type ServiceName,
  type ServiceProcess,
  type TestDatabase,
} from './flow.ts';

/** The samples' topics, queues, DLQs, subscriptions and services' environment, in a namespace of their own. */
export function createFlow(options: FlowOptions = {}): Promise<Flow> {
  const provisioner = options.provisioner ?? process.env['PUBSUB_SERVICES_PROVISIONER'] ?? 'operator';
  if (provisioner !== 'operator' && provisioner !== 'direct')
    throw new Error(`PUBSUB_SERVICES_PROVISIONER must be operator or direct, not ${provisioner}`);
  return provisioner === 'operator' ? operatorFlow(options) : directFlow(options);
}

async function operatorFlow(options: FlowOptions): Promise<Flow> {
  const namespace = uniqueName('svc');
  const core = kubeConfig().makeApiClient(CoreV1Api);
  await installCrds();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const operator = await startOperator({
    namespaces: [namespace],
    clusterName: uniqueName('svc-cluster'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
  const flow = flowOf(namespace, async () => {
    // The operator still runs, so the topics and queues go in AWS too.
    await deleteAll(namespace, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
    await operator.stop();
    await core.deleteNamespace({ name: namespace });
  });
  try {
    const samples = readSamples(options);
    kubectl(
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: samples }),
    );
    for (const { metadata } of ofKind(samples, 'EventTopic')) {
      const topic = await waitForCondition(namespace, 'eventtopics', metadata.name, 'Ready', 'True');
      flow.topicArns[metadata.name] = String(topic.status?.['topicArn']);
    }
    for (const { metadata, spec } of ofKind(samples, 'ConsumerQueue')) {
      const { status } = await waitForCondition(namespace, 'consumerqueues', metadata.name, 'Ready', 'True');
      flow.queues[metadata.name] = {
        url: String(status?.['queueUrl']),
        arn: String(status?.['queueArn']),
        deadLetterUrl: String(status?.['deadLetterQueueUrl']),
        fifo: spec['fifo'] === true,
      };
    }
    for (const { metadata } of ofKind(samples, 'EcommerceService')) {
      // Resolved as the kubelet would, and as `make run-services` reads it; DATABASE_URL comes
      // from a Secret there (missing on the bed, so left out), from the test's database here.
      const { env } = await eventually(
        async () =>
          (await getObject(namespace, 'ecommerceservices', metadata.name))
            ? deploymentEnv(kubectl, namespace, metadata.name)
            : undefined,
        { what: `the Deployment of ${metadata.name}` },
      );
      flow.injected[metadata.name] = env;
    }
    return flow;
  } catch (error) {
    await flow.delete();
    throw error;
  }
}

/** JSON over HTTP: the status and the parsed body. */
export async function http(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A valid order whose total is `totalCents`. */
export const order = (totalCents: number, customer = 'c-1') => ({
  customerId: customer,
  email: `${customer}@example.com`,
  currency: 'EUR',
  items: [{ sku: 'book', quantity: 1, unitPriceCents: totalCents }],
});

/** Posts an order and returns its id. */
export async function placeOrder(
  orderService: ServiceProcess,
  totalCents: number,
  customer?: string,
): Promise<string> {
  const { status, body } = await http(orderService.url('/orders'), {
    method: 'POST',
    body: order(totalCents, customer),
  });
  if (status !== 202) throw new Error(`POST /orders answered ${status}: ${JSON.stringify(body)}`);
  return String(body['orderId']);
}

/** Waits until every order has left PENDING; resolves with id → status. */
export async function settledOrders(
  orderService: ServiceProcess,
  ids: readonly string[],
  timeoutMs = 90_000,
): Promise<Record<string, string>> {
  return eventually(
    async () => {
      const statuses: Record<string, string> = {};
      for (const id of ids) {
        const { body } = await http(orderService.url(`/orders/${id}`));
        if (body['status'] === 'PENDING') return undefined;
        statuses[id] = String(body['status']);
      }
      return statuses;
    },
    { timeoutMs, intervalMs: 500, what: `${ids.length} orders to leave PENDING` },
  );
}

/** Sends a message straight into a queue, as SNS raw delivery would; FIFO queues get a fresh deduplication id. */
export async function sendRaw(
  sqs: SQSClient,
  queue: FlowQueue,
  body: string,
  attributes: Record<string, string> = {},
  groupId = 'poison',
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: body,
      MessageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
      ),
      ...(queue.fifo ? { MessageGroupId: groupId, MessageDeduplicationId: randomUUID() } : {}),
    }),
  );
}

export interface Tap {
  url: string;
  /** Receives until the tap holds nothing more; each message once. */
  drain(): Promise<Message[]>;
}

/** A queue subscribed raw to a topic, to see every message published to it. */
export async function tapTopic(flow: Flow, topic: string): Promise<Tap> {
  const sqs = flow.aws.clients.sqs;
  const topicArn = required(flow.topicArns[topic], `EventTopic ${topic}`);
  const { url, arn } = await flow.aws.queues.createQueue(`${flow.namespace}-tap-${topic}`, {}, {});
  const subscription = await flow.aws.topics.subscribe(topicArn, arn, { RawMessageDelivery: 'true' });
  flow.onDelete(async () => {
    await flow.aws.topics.unsubscribe(subscription);
    await flow.aws.queues.deleteQueue(url);
  });
  return {
    url,
    async drain() {
      const all: Message[] = [];
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) return all;
        all.push(...messages);
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    },
  };
}

/** Publishes a tapped message to the topic again, body and attributes unchanged: a duplicate. */
export async function publishAgain(flow: Flow, topic: string, message: Message): Promise<void> {
  const topicArn = required(flow.topicArns[topic], `EventTopic ${topic}`);
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [
      k,
      { DataType: 'String', StringValue: v.StringValue },
    ]),
  );
  const group = message.Attributes?.['MessageGroupId'];
  await flow.aws.clients.sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: message.Body ?? '',
      MessageAttributes: attributes,
      // A FIFO topic would drop a copy with the same deduplication id; a new one forces a second delivery.
      ...(group ? { MessageGroupId: group, MessageDeduplicationId: randomUUID() } : {}),
    }),
  );
}

export interface ServicesFixture {
  readonly flow: Flow;
  readonly db: TestDatabase;
  /** Starts a service with what the operator would inject (and `env` over it); killed after the file's tests. */
  start: (name: ServiceName, env?: Record<string, string>) => Promise<ServiceProcess>;
}

/** A flow and a database for one test file, made before its tests and removed after them. */
export function useServices(options: FlowOptions = {}): ServicesFixture {
  let flow: Flow | undefined;
  let db: TestDatabase | undefined;
  const processes: ServiceProcess[] = [];
  beforeAll(async () => {
    flow = await createFlow(options);
    db = await createDatabase();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await db?.drop();
    await flow?.delete();
  });
  const fixture: ServicesFixture = {
    get flow() {
      return required(flow, 'the flow (used before beforeAll)');
    },
    get db() {
      return required(db, 'the database (used before beforeAll)');
    },
    async start(name, env = {}) {
      const service = await startService(name, {
        ...serviceEnv(fixture.flow, name, fixture.db.url),
        ...env,
      });
      processes.push(service);
      return service;
    },
  };
  return fixture;
}
