// The e-commerce services as real processes (node services/main.ts <service>) against the bed's
// moto and PostgreSQL, on the topics and queues of samples/ made directly, without the operator:
// the samples parsed with the CRDs' zod schemas, the operator's pure desired-state functions, its
// gateways; and the environment as the operator documents it. Nothing here needs vitest or the
// bed's Kubernetes, so the integration tests (through services.ts) and bench/ share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Pool } from 'pg';
import { parse } from 'yaml';
import { awsSettingsFromEnv, createAwsGateways, queueArn, type AwsGateways } from '../../../src/aws/index.ts';
import { desiredTopic } from '../../../src/controllers/event-topic/desired.ts';
import { desiredQueues, queueNames } from '../../../src/controllers/consumer-queue/desired.ts';
import { subscriptionAttributes } from '../../../src/controllers/consumer-queue/subscriptions.ts';
import type { OperatorSettings } from '../../../src/controllers/shared/settings.ts';
import {
  ConsumerQueueSpecSchema,
  EcommerceServiceSpecSchema,
  EventTopicSpecSchema,
  type ConsumerQueue,
  type EventTopic,
} from '../../../src/crds/index.ts';
import { topicArnEnvName } from '../../../services/consumer/config.ts';
import { awsClientConfig, bedEnv, repoRoot, uniqueName } from './bed.ts';

export type ServiceName = 'order-service' | 'payment-service' | 'notification-service';

export interface SampleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface FlowQueue {
  url: string;
  arn: string;
  deadLetterUrl: string;
  fifo: boolean;
}

/** The samples' resources in AWS, as the operator reports them in status. */
export interface Flow {
  namespace: string;
  /** EventTopic name → topic ARN. */
  topicArns: Record<string, string>;
  /** ConsumerQueue name → its queue and DLQ. */
  queues: Record<string, FlowQueue>;
  /** EcommerceService name → the variables the operator sets in its pods. */
  injected: Record<string, Record<string, string>>;
  aws: AwsGateways;
  /** Something else to remove with the flow, before its own resources. */
  onDelete(cleanup: () => Promise<unknown>): void;
  delete(): Promise<void>;
}

export interface FlowOptions {
  /** Replaces every queue's visibility timeout: short, so a killed consumer's messages return soon. */
  visibilityTimeoutSeconds?: number;
  /** Who makes the resources. Default: PUBSUB_SERVICES_PROVISIONER, else the operator. */
  provisioner?: 'operator' | 'direct';
}

export const required = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
};

/** The sample objects, with the test's visibility timeout on every ConsumerQueue. */
export function readSamples(options: FlowOptions): SampleObject[] {
  const dir = `${repoRoot}samples/`;
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .map((file) => {
      const sample = parse(readFileSync(dir + file, 'utf8')) as SampleObject;
      if (sample.kind === 'ConsumerQueue' && options.visibilityTimeoutSeconds !== undefined)
        sample.spec['visibilityTimeoutSeconds'] = options.visibilityTimeoutSeconds;
      return sample;
    });
}

export const ofKind = (samples: readonly SampleObject[], kind: string) =>
  samples.filter((s) => s.kind === kind);

/** A flow whose delete() runs the extra clean-ups, then `teardown`, then closes the clients. */
export function flowOf(namespace: string, teardown: (gateways: AwsGateways) => Promise<void>): Flow {
  const gateways = createAwsGateways(awsSettingsFromEnv(bedEnv()), {
    credentials: awsClientConfig().credentials,
  });
  const extra: (() => Promise<unknown>)[] = [];
  return {
    namespace,
    topicArns: {},
    queues: {},
    injected: {},
    aws: gateways,
    onDelete: (cleanup) => extra.push(cleanup),
    async delete() {
      for (const cleanup of extra.reverse()) await cleanup().catch(() => undefined);
      await teardown(gateways);
      gateways.clients.destroy();
    },
  };
}

export async function directFlow(options: FlowOptions): Promise<Flow> {
  const namespace = uniqueName('svc');
  const created: { topics: string[]; queues: string[]; subscriptions: string[] } = {
    topics: [],
    queues: [],
    subscriptions: [],
  };
  const flow = flowOf(namespace, async (gateways) => {
    for (const arn of created.subscriptions) await gateways.topics.unsubscribe(arn).catch(() => undefined);
    for (const url of created.queues) await gateways.queues.deleteQueue(url).catch(() => undefined);
    for (const arn of created.topics) await gateways.topics.deleteTopic(arn).catch(() => undefined);
  });
  const gateways = flow.aws;
  const region = awsClientConfig().region;
  const settings: OperatorSettings = { clusterName: 'services-it', namePrefix: 'pubsub', region };
  const account = await gateways.account.accountId();
  const meta = (name: string) => ({ name, namespace, uid: randomUUID() });
  const samples = readSamples(options);

  for (const sample of ofKind(samples, 'EventTopic')) {
    const topic = {
      metadata: meta(sample.metadata.name),
      spec: EventTopicSpecSchema.parse(sample.spec),
    } as EventTopic;
    const desired = desiredTopic(topic, settings);
    const arn = await gateways.topics.createTopic(
      desired.name,
      { ...desired.createOnly, ...desired.attributes },
      desired.tags,
    );
    created.topics.push(arn);
    flow.topicArns[sample.metadata.name] = arn;
  }

  for (const sample of ofKind(samples, 'ConsumerQueue')) {
    const spec = ConsumerQueueSpecSchema.parse(sample.spec);
    const cq = { metadata: meta(sample.metadata.name), spec } as ConsumerQueue;
    const names = queueNames(cq, settings);
    const arns = {
      queue: queueArn(region, account, names.queue),
      deadLetter: queueArn(region, account, names.deadLetter),
    };
    const subscriptions = (spec.subscriptions ?? []).map((entry) => ({
      topicArn: required(flow.topicArns[entry.topicRef?.name ?? ''], `EventTopic ${entry.topicRef?.name}`),
      attributes: subscriptionAttributes(entry, undefined),
    }));
    const desired = desiredQueues(cq, settings, names, arns, {
      queue: subscriptions.map((s) => s.topicArn),
      deadLetter: [],
    });
    const deadLetterDesired = required(desired.deadLetter, `dead-letter queue of ${sample.metadata.name}`);
    const deadLetter = await gateways.queues.createQueue(
      deadLetterDesired.name,
      { ...deadLetterDesired.createOnly, ...deadLetterDesired.attributes },
      deadLetterDesired.tags,
    );
    created.queues.push(deadLetter.url);
    const queue = await gateways.queues.createQueue(
      desired.queue.name,
      { ...desired.queue.createOnly, ...desired.queue.attributes },
      desired.queue.tags,
    );
    created.queues.push(queue.url);
    for (const sub of subscriptions)
      created.subscriptions.push(await gateways.topics.subscribe(sub.topicArn, queue.arn, sub.attributes));
    flow.queues[sample.metadata.name] = {
      url: queue.url,
      arn: queue.arn,
      deadLetterUrl: deadLetter.url,
      fifo: spec.fifo,
    };
  }

  // What the operator documents it injects: the queue and its DLQ, <TOPIC>_TOPIC_ARN, region, and
  // its endpoint override for SQS and SNS only.
  const bed = bedEnv();
  const endpoint = required(bed['AWS_ENDPOINT_URL'], 'AWS_ENDPOINT_URL');
  for (const sample of ofKind(samples, 'EcommerceService')) {
    const spec = EcommerceServiceSpecSchema.parse(sample.spec);
    const env: Record<string, string> = {
      AWS_REGION: required(bed['AWS_REGION'], 'AWS_REGION'),
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_ENDPOINT_URL_SNS: endpoint,
    };
    if (spec.consumes) {
      const queue = required(
        flow.queues[spec.consumes.queueRef.name],
        `ConsumerQueue ${spec.consumes.queueRef.name}`,
      );
      env['QUEUE_URL'] = queue.url;
      env['DEAD_LETTER_QUEUE_URL'] = queue.deadLetterUrl;
    }
    for (const publish of spec.publishes ?? [])
      env[publish.envName ?? topicArnEnvName(publish.topicRef.name)] = required(
        flow.topicArns[publish.topicRef.name],
        `EventTopic ${publish.topicRef.name}`,
      );
    flow.injected[sample.metadata.name] = env;
  }
  return flow;
}

/** The service's environment: what the operator injects, the test's database, the bed's credentials. */
export function serviceEnv(flow: Flow, service: ServiceName, databaseUrl: string): Record<string, string> {
  const bed = bedEnv();
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    AWS_ACCESS_KEY_ID: bed['AWS_ACCESS_KEY_ID'] ?? 'testing',
    AWS_SECRET_ACCESS_KEY: bed['AWS_SECRET_ACCESS_KEY'] ?? 'testing',
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...required(flow.injected[service], `EcommerceService ${service}`),
    DATABASE_URL: databaseUrl,
  };
}

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A database of its own on the bed's PostgreSQL, dropped (with its connections) afterwards. */
export async function createDatabase(): Promise<TestDatabase> {
  const adminUrl = required(bedEnv()['DATABASE_URL'], `DATABASE_URL in .local/env.sh (run 'make env-up')`);
  const name = uniqueName('svc').replace(/-/g, '_');
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 4 });
  // DROP DATABASE ... WITH (FORCE) ends connections still closing; that is expected, not an error.
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  port: number;
  lines: LogLine[];
  url(path: string): string;
  /** Resolves with the first line (seen or to come) that passes `test`. */
  waitForLog(test: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, nothing cleaned up. */
  kill(): Promise<void>;
}

/** Starts `node services/main.ts <service>` (or another entry script) and resolves once it serves HTTP. */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  options: { entry?: string } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [options.entry ?? `${repoRoot}services/main.ts`, name], {
    env,
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    for (const text of parts) {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 'info', msg: text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) waiter(line);
    }
  });
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (text: string) => lines.push({ level: 'error', msg: `stderr: ${text}` }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const tail = () =>
    lines
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join('\n');
  const waitForLog = (test: (line: LogLine) => boolean, timeoutMs = 60_000) => {
    const seen = lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = (line: LogLine) => {
        if (!test(line)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${name}: no matching log line in ${timeoutMs} ms; last lines:\n${tail()}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(() => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`${name} exited; last lines:\n${tail()}`));
      });
    });
  };
  const started = await waitForLog((l) => l.msg === 'service started', 30_000);
  const port = Number(started['port']);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    port,
    lines,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    waitForLog,
    exited,
    async stop() {
      if (alive()) child.kill('SIGTERM');
      return (await exited).code;
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** ApproximateNumberOfMessages (visible) plus NotVisible of a queue. */
export async function queueDepth(
  sqs: SQSClient,
  url: string,
): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.['ApproximateNumberOfMessages'] ?? 0),
    inFlight: Number(out.Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0),
  };
}
