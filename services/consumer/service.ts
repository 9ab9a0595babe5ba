// Runs a service: environment → logger, metrics, AWS clients; the service's own setup; the HTTP
// server and the consumer; and on SIGTERM or SIGINT a drain inside the grace period.
import type { AddressInfo } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { CircuitBreaker } from './breaker.ts';
import { runtimeEnv, topicArn, type RuntimeEnv } from './config.ts';
import { Consumer, type ConsumerOptions, type MessageHandler, type StopReport } from './consumer.ts';
import { errorMessage } from './errors.ts';
import { createHttpServer, type ReadinessResult, type Route } from './http.ts';
import { MemoryIdempotencyStore, type IdempotencyStore } from './idempotency.ts';
import { createLogger } from './logger.ts';
import { consumerMetrics, httpMetrics, processMetrics } from './metrics.ts';
import { guardedPublisher, snsPublisher, type Publisher } from './publisher.ts';
import { sqsQueueClient } from './queue.ts';

export interface ServiceContext {
  name: string;
  env: RuntimeEnv;
  logger: Logger;
  /** Register the service's own metrics here; /metrics serves it. */
  registry: Registry;
  sqs: SQSClient;
  sns: SNSClient;
  /**
   * A publisher for an EventTopic by name, its ARN from <TOPIC>_TOPIC_ARN, behind one circuit
   * breaker per topic.
   */
  publisher: (topic: string) => Publisher;
  /** A circuit breaker that logs its state changes, for a dependency of the service's own. */
  breaker: (name: string) => CircuitBreaker;
}

/** Tuning of the consumer beyond the environment's; the queue, handler, logger and metrics come from the runtime. */
export type ConsumerTuning = Omit<
  ConsumerOptions,
  'queue' | 'handler' | 'logger' | 'metrics' | 'idempotency'
>;

export interface ServiceParts {
  /** Handles the messages of QUEUE_URL; a service without one consumes nothing. */
  handler?: MessageHandler;
  consumer?: ConsumerTuning;
  /** Default: a per-process MemoryIdempotencyStore. */
  idempotency?: IdempotencyStore;
  routes?: readonly Route[];
  /** Named checks behind /readyz, e.g. a database ping; each throws when not ready. */
  readiness?: Readonly<Record<string, () => Promise<unknown>>>;
  /** Releases what setup acquired (pools, timers); runs after the consumer and server stopped. */
  close?: () => Promise<void>;
}

export interface ServiceDefinition {
  name: string;
  setup(context: ServiceContext): Promise<ServiceParts>;
}

export interface RunOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Stop on SIGTERM and SIGINT, then exit. Default true. */
  handleSignals?: boolean;
  /** Time to finish in-flight work after a stop signal; keep it below terminationGracePeriodSeconds. Default 25 s. */
  shutdownGraceMs?: number;
}

export interface RunningService {
  readonly port: number;
  readonly consumer: Consumer | undefined;
  readonly logger: Logger;
  /** Drains and closes everything; resolves with the consumer's report. */
  stop(): Promise<StopReport | undefined>;
}

const READINESS_TIMEOUT_MS = 2_000;

async function check(name: string, probe: () => Promise<unknown>): Promise<[string, string] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${READINESS_TIMEOUT_MS} ms`)),
      READINESS_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([probe(), timeout]);
    return undefined;
  } catch (error) {
    return [name, errorMessage(error)];
  } finally {
    clearTimeout(timer);
  }
}

export async function runService(
  definition: ServiceDefinition,
  options: RunOptions = {},
): Promise<RunningService> {
  const env = runtimeEnv(options.env ?? process.env);
  const logger = createLogger(definition.name, env.logLevel);
  const registry = new Registry();
  processMetrics(registry);
  // Given explicitly: the environment may be options.env rather than the process's, which the SDK reads.
  const client = (endpoint: string | undefined) => ({
    region: env.region,
    ...(endpoint ? { endpoint } : {}),
  });
  const sqs = new SQSClient(client(env.endpoints.sqs));
  const sns = new SNSClient(client(env.endpoints.sns));
  const sdkTimeoutMs = env.consumer.sdkTimeoutSeconds * 1000;
  const breaker = (name: string) =>
    new CircuitBreaker(name, {
      onStateChange: (state, cause) =>
        logger[state === 'open' ? 'warn' : 'info'](
          { circuit: name, state, cause },
          `circuit ${name} ${state}`,
        ),
    });
  const publishers = new Map<string, Publisher>();
  const context: ServiceContext = {
    name: definition.name,
    env,
    logger,
    registry,
    sqs,
    sns,
    breaker,
    publisher: (topic) => {
      let publisher = publishers.get(topic);
      if (!publisher) {
        const arn = topicArn(env, topic);
        publisher = guardedPublisher(
          snsPublisher(sns, arn, { timeoutMs: sdkTimeoutMs }),
          breaker(`sns:${topic}`),
        );
        publishers.set(topic, publisher);
      }
      return publisher;
    },
  };
  const parts = await definition.setup(context);

  let consumer: Consumer | undefined;
  if (parts.handler) {
    if (!env.queueUrl) throw new Error(`QUEUE_URL is not set: ${definition.name} consumes a queue`);
    const tuning = env.consumer;
    consumer = new Consumer({
      concurrency: tuning.concurrency,
      batchSize: tuning.batchSize,
      waitTimeSeconds: tuning.waitTimeSeconds,
      retryBudgetMs: tuning.retryBudgetSeconds * 1000,
      handlerTimeoutMs: tuning.handlerTimeoutSeconds * 1000,
      stallAfterMs: tuning.waitTimeSeconds * 1000 + 2 * sdkTimeoutMs + 30_000,
      ...parts.consumer,
      queue: sqsQueueClient(sqs, env.queueUrl, {
        deadLetterUrl: env.deadLetterQueueUrl,
        timeoutMs: sdkTimeoutMs,
      }),
      handler: parts.handler,
      logger,
      metrics: consumerMetrics(registry),
      idempotency: parts.idempotency ?? new MemoryIdempotencyStore(),
    });
  } else if (env.queueUrl) {
    logger.warn({ queueUrl: env.queueUrl }, 'QUEUE_URL is set but this service consumes no queue');
  }

  let stopping = false;
  const readiness = async (): Promise<ReadinessResult> => {
    const problems: Record<string, string> = {};
    if (stopping) problems['shutdown'] = 'stopping';
    if (consumer && !consumer.ready) problems['consumer'] = `consumer is ${consumer.state}`;
    const failed = await Promise.all(
      Object.entries(parts.readiness ?? {}).map(([name, probe]) => check(name, probe)),
    );
    for (const entry of failed) if (entry) problems[entry[0]] = entry[1];
    return { ready: Object.keys(problems).length === 0, problems };
  };
  const server = createHttpServer({
    routes: parts.routes ?? [],
    logger,
    registry,
    metrics: httpMetrics(registry),
    healthy: () => consumer?.healthy ?? true,
    readiness,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await consumer?.start();
  logger.info({ port, queueUrl: env.queueUrl, topics: Object.keys(env.topicArns) }, 'service started');

  const graceMs = options.shutdownGraceMs ?? 25_000;
  let stopped: Promise<StopReport | undefined> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const deadline = Date.now() + graceMs;
      const report = await consumer?.stop(graceMs);
      // Requests in progress may finish until the deadline; idle keep-alive connections close now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
      await closed;
      clearTimeout(timer);
      await parts.close?.();
      sqs.destroy();
      sns.destroy();
      logger.info({ ...report }, 'service stopped');
      return report;
    })());

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      // Whatever hangs (a pool that will not end), the process is gone soon after the grace period.
      setTimeout(() => {
        logger.error({ graceMs }, 'could not stop within the grace period; exiting');
        process.exit(1);
      }, graceMs + 3_000).unref();
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: errorMessage(error) }, 'stopping failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { port, consumer, logger, stop };
}
