// Throughput of the services' consumer runtime (services/consumer) against an SQS endpoint that is
// not the bottleneck (ElasticMQ), side by side with the npm package sqs-consumer on the same queues
// in one run. The handler stands for a service's: it publishes one event through a publisher that
// answers after a fixed latency, in place of SNS. Method and results: docs/benchmarks.md.
//
//   node bench/consumer-throughput.ts [--seconds 4] [--latencies 0,50,200] [--concurrency 1,10,100]
//                                     [--groups 1,10,100] [--fifo-latency 50] [--fifo-concurrency 100]
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SQSClient,
  SendMessageBatchCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { Consumer as SqsConsumer } from 'sqs-consumer';
import { Consumer } from '../services/consumer/consumer.ts';
import { sqsQueueClient } from '../services/consumer/queue.ts';
import { cpuByPid } from './cpu.ts';
import { startElasticMq, type ElasticMq } from '../test/integration/support/elasticmq.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    latencies: { type: 'string', default: '0,50,200' },
    concurrency: { type: 'string', default: '1,10,100' },
    groups: { type: 'string', default: '1,10,100' },
    'fifo-latency': { type: 'string', default: '50' },
    'fifo-concurrency': { type: 'string', default: '100' },
    port: { type: 'string', default: String(19_000 + Math.floor(Math.random() * 900)) },
  },
});
const list = (text: string) => text.split(',').map(Number);
const SECONDS = Number(args.seconds);
/** Most messages loaded for one run: enough for SECONDS of the fastest consumer seen. */
const MAX_MESSAGES = 20_000;

interface Scenario {
  latencyMs: number;
  concurrency: number;
  /** FIFO message groups; standard queue when absent. */
  groups?: number;
}

interface Measurement {
  runtime: 'services/consumer' | 'sqs-consumer';
  handled: number;
  seconds: number;
  cpuMsPerMessage: number;
  /** ElasticMQ's CPU per message, to show it was not the limit. */
  serverCpuMsPerMessage: number;
  receivesPerMessage: number;
  deletesPerMessage: number;
  /** FIFO: messages started while another message of their group was still being handled. */
  outOfOrder: number;
}

/** Counts the SQS commands a client sends, by name. */
function countingClient(endpoint: string): { sqs: SQSClient; counts: Map<string, number> } {
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const counts = new Map<string, number>();
  sqs.middlewareStack.add(
    (next, context) => (input) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(input);
    },
    { step: 'initialize', name: 'benchCounter' },
  );
  return { sqs, counts };
}

/** A publisher that answers after a fixed latency: SNS as the handler would see it, without SNS. */
const fixedLatencyPublish = (latencyMs: number) => (latencyMs > 0 ? sleep(latencyMs) : Promise.resolve());

async function loadQueue(sqs: SQSClient, url: string, count: number, groups: number | undefined) {
  const batches: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      Id: String(j),
      MessageBody: String(i + j),
      MessageAttributes: {
        eventType: { DataType: 'String', StringValue: 'BenchEvent' },
        eventId: { DataType: 'String', StringValue: randomUUID() },
      },
      ...(groups ? { MessageGroupId: `g${(i + j) % groups}`, MessageDeduplicationId: randomUUID() } : {}),
    }));
    batches.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })));
    // FIFO: one batch after the other, so that each group's order is the order of the numbers.
    if (groups !== undefined || batches.length >= 20) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
}

/** Messages to load so that the runtime under test does not run dry within SECONDS. */
function messagesFor(s: Scenario): number {
  const perSecond =
    s.latencyMs === 0 ? Math.min(1_500, 150 * s.concurrency) : (s.concurrency * 1000) / s.latencyMs;
  return Math.min(MAX_MESSAGES, Math.ceil(perSecond * SECONDS * 1.3) + 20);
}

async function measure(
  emq: ElasticMq,
  scenario: Scenario,
  runtime: Measurement['runtime'],
): Promise<Measurement> {
  const setup = countingClient(emq.endpoint);
  const fifo = scenario.groups !== undefined;
  const name = `bench-${randomUUID().slice(0, 8)}${fifo ? '.fifo' : ''}`;
  const created = await setup.sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: '30', ...(fifo ? { FifoQueue: 'true' } : {}) },
    }),
  );
  const url = created.QueueUrl ?? '';
  const total = messagesFor(scenario);
  await loadQueue(setup.sqs, url, total, scenario.groups);

  const { sqs, counts } = countingClient(emq.endpoint);
  let handled = 0;
  let lastAt = 0;
  let outOfOrder = 0;
  const runningInGroup = new Map<string, number>();
  const handle = async (group: string | undefined) => {
    // Two messages of one group handled at once: their order is no longer the group's.
    if (group !== undefined) {
      const running = runningInGroup.get(group) ?? 0;
      if (running > 0) outOfOrder += 1;
      runningInGroup.set(group, running + 1);
    }
    await fixedLatencyPublish(scenario.latencyMs);
    if (group !== undefined) runningInGroup.set(group, (runningInGroup.get(group) ?? 1) - 1);
    handled += 1;
    lastAt = performance.now();
  };
  const batchSize = Math.min(10, scenario.concurrency);
  let stop: () => Promise<void>;
  const cpuBefore = process.cpuUsage();
  const serverBefore = cpuByPid(emq.pid).get(emq.pid) ?? 0;
  const startedAt = performance.now();
  if (runtime === 'services/consumer') {
    const consumer = new Consumer({
      queue: sqsQueueClient(sqs, url),
      handler: (message) => handle(message.groupId),
      logger: pino({ level: 'silent' }),
      concurrency: scenario.concurrency,
      batchSize,
      waitTimeSeconds: 1,
    });
    await consumer.start();
    stop = async () => {
      await consumer.stop(5_000);
    };
  } else {
    // sqs-consumer holds at most one batch per instance: equal messages in flight takes
    // concurrency / batch size instances.
    const instances = Array.from({ length: Math.ceil(scenario.concurrency / batchSize) }, () =>
      SqsConsumer.create({
        queueUrl: url,
        sqs,
        batchSize,
        waitTimeSeconds: 1,
        suppressFifoWarning: true,
        messageSystemAttributeNames: ['MessageGroupId'],
        handleMessage: async (message: Message) => {
          await handle(message.Attributes?.['MessageGroupId']);
          return message;
        },
      }),
    );
    for (const instance of instances) {
      instance.on('error', () => undefined);
      instance.on('processing_error', () => undefined);
      instance.start();
    }
    stop = async () => {
      await Promise.all(
        instances.map(
          (instance) =>
            new Promise<void>((resolve) => {
              instance.once('stopped', () => resolve());
              instance.stop();
            }),
        ),
      );
    };
  }
  const deadline = startedAt + SECONDS * 1000;
  while (performance.now() < deadline && handled < total) await sleep(20);
  const endedAt = handled >= total ? lastAt : performance.now();
  const handledInWindow = handled;
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpu = (cpuByPid(emq.pid).get(emq.pid) ?? 0) - serverBefore;
  const receives = counts.get('ReceiveMessageCommand') ?? 0;
  const deletes = (counts.get('DeleteMessageCommand') ?? 0) + (counts.get('DeleteMessageBatchCommand') ?? 0);
  await stop();
  await setup.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
  setup.sqs.destroy();
  sqs.destroy();
  const n = Math.max(1, handledInWindow);
  return {
    runtime,
    handled: handledInWindow,
    seconds: (endedAt - startedAt) / 1000,
    cpuMsPerMessage: (cpu.user + cpu.system) / 1000 / n,
    serverCpuMsPerMessage: (serverCpu * 1000) / n,
    receivesPerMessage: receives / n,
    deletesPerMessage: deletes / n,
    outOfOrder,
  };
}

const fixed = (value: number, digits: number) => value.toFixed(digits);

async function main(): Promise<void> {
  const emq = await startElasticMq(Number(args.port));
  const scenarios: Scenario[] = [];
  for (const latencyMs of list(args.latencies))
    for (const concurrency of list(args.concurrency)) scenarios.push({ latencyMs, concurrency });
  for (const groups of list(args.groups))
    scenarios.push({
      latencyMs: Number(args['fifo-latency']),
      concurrency: Number(args['fifo-concurrency']),
      groups,
    });
  const rows: string[] = [
    '| queue | handler ms | in flight | runtime | msg/s | CPU ms/msg | receives/msg | deletes/msg | ElasticMQ CPU ms/msg | group overlaps | ratio |',
    '| ----- | ---------- | --------- | ------- | ----- | ---------- | ------------ | ----------- | -------------------- | -------------- | ----- |',
  ];
  process.stdout.write(`ElasticMQ ${emq.endpoint}; ${SECONDS} s per run\n`);
  try {
    // Warm-up, not reported: the JVM's JIT and Node's, on both runtimes.
    for (const runtime of ['services/consumer', 'sqs-consumer'] as const)
      await measure(emq, { latencyMs: 0, concurrency: 10 }, runtime);
    for (const scenario of scenarios) {
      const ours = await measure(emq, scenario, 'services/consumer');
      const theirs = await measure(emq, scenario, 'sqs-consumer');
      for (const m of [ours, theirs]) {
        const rate = m.handled / m.seconds;
        const ratio = m === ours ? rate / (theirs.handled / theirs.seconds) : 1;
        const row = `| ${scenario.groups ? `FIFO, ${scenario.groups} groups` : 'standard'} | ${scenario.latencyMs} | ${scenario.concurrency} | ${m.runtime} | ${fixed(rate, 0)} | ${fixed(m.cpuMsPerMessage, 3)} | ${fixed(m.receivesPerMessage, 3)} | ${fixed(m.deletesPerMessage, 3)} | ${fixed(m.serverCpuMsPerMessage, 3)} | ${scenario.groups ? m.outOfOrder : ''} | ${m === ours ? `${fixed(ratio, 2)}×` : ''} |`;
        rows.push(row);
        process.stdout.write(`${row}\n`);
      }
    }
  } finally {
    await emq.stop();
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
}

await main();
