// How many OrderCreated messages per second one payment-service process gets through against the
// bed's moto and PostgreSQL (make env-up), and who is busy meanwhile. docs/benchmarks.md has the
// method and the results.
//
//   node bench/payment-throughput.ts [--messages 2000] [--runs 3]
//        [--concurrency 10,20,50] [--batch-size 10] [--charge-ms 0] [--instrumented]
//
// It makes the samples' topics and queues directly (as the services tests do with
// PUBSUB_SERVICES_PROVISIONER=direct) and a database of its own; each run empties the payments,
// loads N messages into payment-orders, starts one `node services/main.ts payment-service`, and
// times from the consumer's start until /metrics counts N messages processed, then checks that the
// queue is empty and N payments are complete. --concurrency, --batch-size and --charge-ms (and
// --instrumented) run bench/payment-service.ts instead: the same service with those settings and
// timers on every SQS, SNS and PostgreSQL call. Everything made is removed at the end.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PurgeQueueCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ORDER_CREATED, orderCreatedEventId, type OrderCreated } from '../services/shared/events.ts';
import { bedEnv, repoRoot } from '../test/integration/support/bed.ts';
import {
  createDatabase,
  directFlow,
  queueDepth,
  serviceEnv,
  startService,
  type Flow,
  type FlowQueue,
  type ServiceProcess,
  type TestDatabase,
} from '../test/integration/support/flow.ts';
import { cpuByPid, cpuSpent, listeningPid, loadAverage, machineTicks } from './cpu.ts';
import { histogram, histogramsBy, parseMetrics, total, type HistogramSummary } from './prometheus.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    'charge-ms': { type: 'string' },
    instrumented: { type: 'boolean', default: false },
  },
});
const N = Number(args.messages);
const RUNS = Number(args.runs);
const instrumented =
  args.instrumented ||
  args.concurrency !== undefined ||
  args['batch-size'] !== undefined ||
  args['charge-ms'] !== undefined;
/** undefined: the consumer's default. */
const concurrencies: (string | undefined)[] = args.concurrency?.split(',') ?? [undefined];
const QUEUE = 'payment-orders';
const TIMEOUT_MS = 15 * 60_000;

interface RunResult {
  concurrency: string;
  batchSize: string;
  messagesPerSecond: number;
  seconds: number;
  handler: HistogramSummary;
  calls: Record<string, HistogramSummary>;
  queries: Record<string, HistogramSummary>;
  /** Average share of one core over the run. */
  cpu: { service: number; moto: number; postgres: number; machineBusy: number };
  load: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (seconds: number) => (Number.isNaN(seconds) ? '-' : `${(seconds * 1000).toFixed(1)}`);
const pct = (share: number) => `${Math.round(share * 100)}%`;

function orderCreated(): OrderCreated {
  return {
    orderId: randomUUID(),
    customerId: 'bench',
    email: 'bench@example.com',
    items: [{ sku: 'book', quantity: 2, unitPriceCents: 1250 }],
    totalCents: 2500,
    currency: 'EUR',
    createdAt: new Date().toISOString(),
  };
}

/** N OrderCreated messages as SNS raw delivery would leave them, 10 per SendMessageBatch, 8 batches at a time. */
async function preload(sqs: SQSClient, queue: FlowQueue, n: number): Promise<void> {
  const batches: OrderCreated[][] = [];
  for (let i = 0; i < n; i += 10) batches.push(Array.from({ length: Math.min(10, n - i) }, orderCreated));
  const send = async (orders: OrderCreated[]) => {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: orders.map((order, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(order),
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: ORDER_CREATED },
            eventId: { DataType: 'String', StringValue: orderCreatedEventId(order.orderId) },
          },
        })),
      }),
    );
    if (out.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
  };
  for (let i = 0; i < batches.length; i += 8) await Promise.all(batches.slice(i, i + 8).map(send));
}

async function metrics(service: ServiceProcess) {
  const response = await fetch(service.url('/metrics'));
  return parseMetrics(await response.text());
}

/** Empties what earlier runs left: the payments and the queues payment-events feeds. */
async function reset(flow: Flow, db: TestDatabase): Promise<void> {
  await db.pool.query('TRUNCATE payments').catch(() => undefined);
  for (const [name, queue] of Object.entries(flow.queues)) {
    if (name === QUEUE) continue;
    for (const url of [queue.url, queue.deadLetterUrl])
      await flow.aws.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: url })).catch(() => undefined);
  }
}

async function run(flow: Flow, db: TestDatabase, concurrency: string | undefined): Promise<RunResult> {
  const queue = flow.queues[QUEUE];
  if (!queue) throw new Error(`no ${QUEUE} queue`);
  const sqs = flow.aws.clients.sqs;
  await reset(flow, db);
  await preload(sqs, queue, N);
  const env: Record<string, string> = {
    ...serviceEnv(flow, 'payment-service', db.url),
    LOG_LEVEL: 'info',
    ...(concurrency === undefined ? {} : { BENCH_CONCURRENCY: concurrency }),
    ...(args['batch-size'] === undefined ? {} : { BENCH_BATCH_SIZE: args['batch-size'] }),
    ...(args['charge-ms'] === undefined ? {} : { BENCH_CHARGE_MS: args['charge-ms'] }),
  };
  const motoPid = listeningPid(Number(new URL(env['AWS_ENDPOINT_URL'] ?? '').port));
  const postgresPid = listeningPid(Number(new URL(db.url).port));
  const cpuOf = (service: ServiceProcess) => ({
    service: cpuByPid(service.child.pid ?? 0),
    moto: motoPid ? cpuByPid(motoPid) : new Map<number, number>(),
    postgres: postgresPid ? cpuByPid(postgresPid, true) : new Map<number, number>(),
    machine: machineTicks(),
    at: performance.now(),
  });

  const entry = instrumented ? { entry: `${repoRoot}bench/payment-service.ts` } : {};
  const service = await startService('payment-service', env, entry);
  try {
    const before = cpuOf(service);
    const started = await service.waitForLog((line) => line.msg === 'consumer started');
    const startedAt = Date.parse(String(started['time']));
    let doneAt = 0;
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      if (total(await metrics(service), 'consumer_messages_processed_total') >= N) {
        doneAt = Date.now();
        break;
      }
      if (Date.now() > deadline) throw new Error(`${N} messages not processed in ${TIMEOUT_MS} ms`);
      await sleep(50);
    }
    const after = cpuOf(service);
    const samples = await metrics(service);
    const depth = await queueDepth(sqs, queue.url);
    const dead = await queueDepth(sqs, queue.deadLetterUrl);
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE status = 'PROCESSED'",
    );
    const payments = Number(rows[0]?.n);
    if (depth.visible + depth.inFlight + dead.visible > 0 || payments !== N)
      throw new Error(
        `not drained: queue ${JSON.stringify(depth)}, DLQ ${dead.visible}, ${payments} of ${N} payments`,
      );
    const wall = (after.at - before.at) / 1000;
    const seconds = (doneAt - startedAt) / 1000;
    return {
      concurrency: String(started['concurrency']),
      batchSize: String(started['batchSize']),
      messagesPerSecond: N / seconds,
      seconds,
      handler: histogram(samples, 'consumer_handler_duration_seconds'),
      calls: histogramsBy(samples, 'bench_aws_call_duration_seconds', 'command'),
      queries: histogramsBy(samples, 'bench_db_query_duration_seconds', 'statement'),
      cpu: {
        service: cpuSpent(before.service, after.service) / wall,
        moto: cpuSpent(before.moto, after.moto) / wall,
        postgres: cpuSpent(before.postgres, after.postgres) / wall,
        machineBusy:
          (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
      },
      load: loadAverage(),
    };
  } finally {
    await service.stop();
  }
}

function report(result: RunResult, label: string): void {
  const h = result.handler;
  console.log(
    `${label} concurrency=${result.concurrency} batchSize=${result.batchSize}: ` +
      `${result.messagesPerSecond.toFixed(1)} msg/s (${N} in ${result.seconds.toFixed(2)} s); ` +
      `handler p50 ${ms(h.p50Seconds)} ms, p95 ${ms(h.p95Seconds)} ms, mean ${ms(h.meanSeconds)} ms; ` +
      `CPU service ${pct(result.cpu.service)}, moto ${pct(result.cpu.moto)}, ` +
      `postgres ${pct(result.cpu.postgres)}, machine ${pct(result.cpu.machineBusy)} of 2 cores; load ${result.load}`,
  );
  for (const [kind, summaries] of [
    ['call', result.calls],
    ['query', result.queries],
  ] as const)
    for (const [name, s] of Object.entries(summaries))
      console.log(
        `    ${kind} ${name}: ${s.count}×, mean ${ms(s.meanSeconds)} ms, ` +
          `p50 ${ms(s.p50Seconds)} ms, p95 ${ms(s.p95Seconds)} ms`,
      );
}

function spread(results: readonly RunResult[]): string {
  const rates = results.map((r) => r.messagesPerSecond).sort((a, b) => a - b);
  const min = rates[0] ?? NaN;
  const max = rates.at(-1) ?? NaN;
  const median = rates[Math.floor(rates.length / 2)] ?? NaN;
  return (
    `median ${median.toFixed(1)} msg/s, min ${min.toFixed(1)}, max ${max.toFixed(1)}, ` +
    `spread ${(((max - min) / median) * 100).toFixed(1)}% of the median`
  );
}

const bed = bedEnv();
if (!bed['DATABASE_URL']) throw new Error("no DATABASE_URL in .local/env.sh: run 'make env-up'");
console.log(
  `payment-throughput: ${N} messages, ${RUNS} runs per setting, ` +
    `${instrumented ? 'bench/payment-service.ts (instrumented)' : 'services/main.ts payment-service'}` +
    `${args['charge-ms'] === undefined ? '' : `, charge ${args['charge-ms']} ms`}; load ${loadAverage()}`,
);
const flow = await directFlow({});
let db: TestDatabase | undefined;
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});
try {
  db = await createDatabase();
  for (const concurrency of concurrencies) {
    const results: RunResult[] = [];
    for (let i = 1; i <= RUNS && !interrupted; i++) {
      const result = await run(flow, db, concurrency);
      results.push(result);
      report(result, `run ${i}/${RUNS}`);
    }
    if (results.length > 0) console.log(`concurrency=${results[0]?.concurrency}: ${spread(results)}`);
  }
} finally {
  await db?.drop();
  await flow.delete();
}
