// payment-service as services/main.ts runs it, with three things a benchmark needs and the
// service has no setting for:
//   BENCH_CONCURRENCY, BENCH_BATCH_SIZE  the consumer's concurrency and receive batch size
//                                        (services/consumer takes them only in code; unset: its defaults)
//   BENCH_CHARGE_MS                      a fixed charge latency instead of the stand-in provider's 100-300 ms
// and timers on /metrics: bench_aws_call_duration_seconds{command} for every SQS and SNS call
// (ReceiveMessage, DeleteMessageBatch, Publish, ...) and bench_db_query_duration_seconds{statement}
// for every pool query, waiting for a connection included.
import pg from 'pg';
import { Histogram, type Registry } from 'prom-client';
import {
  errorMessage,
  runService,
  type ConsumerTuning,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceParts,
} from '../services/consumer/index.ts';
import { paymentService, orderCreatedHandler } from '../services/payment/service.ts';
import { sampleProvider } from '../services/payment/provider.ts';
import { PgPaymentStore } from '../services/payment/store.ts';
import { PAYMENT_EVENTS_TOPIC } from '../services/shared/events.ts';

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const positive = (name: string): number | undefined => {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${text}`);
  return value;
};

/** Times every command the client sends, one HTTP attempt at a time. */
function timeCalls(client: ServiceContext['sqs'] | ServiceContext['sns'], histogram: Histogram<'command'>) {
  // The SQS and SNS stacks differ only in their input and output types, which this does not touch.
  (client as ServiceContext['sqs']).middlewareStack.add(
    (next, context) => async (args) => {
      const end = histogram.startTimer({ command: context.commandName ?? 'unknown' });
      try {
        return await next(args);
      } finally {
        end();
      }
    },
    { step: 'deserialize', name: 'benchCallTimer' },
  );
}

/** Times every Pool#query by its first word (INSERT, SELECT, UPDATE). */
function timeQueries(registry: Registry) {
  const histogram = new Histogram({
    name: 'bench_db_query_duration_seconds',
    help: 'PostgreSQL pool queries, from the call to the rows (waiting for a connection included).',
    labelNames: ['statement'],
    buckets,
    registers: [registry],
  });
  const prototype = pg.Pool.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : '';
    const end = histogram.startTimer({ statement: /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'other' });
    const result = query.apply(this, args);
    if (result instanceof Promise) return result.finally(end);
    end();
    return result;
  };
}

const tuning: ConsumerTuning = {};
const concurrency = positive('BENCH_CONCURRENCY');
const batchSize = positive('BENCH_BATCH_SIZE');
const chargeMs = positive('BENCH_CHARGE_MS');
if (concurrency !== undefined) tuning.concurrency = concurrency;
if (batchSize !== undefined) tuning.batchSize = batchSize;

const benchPaymentService: ServiceDefinition = {
  name: paymentService.name,
  async setup(context) {
    const calls = new Histogram({
      name: 'bench_aws_call_duration_seconds',
      help: 'SQS and SNS calls, one HTTP attempt each, by command.',
      labelNames: ['command'],
      buckets,
      registers: [context.registry],
    });
    timeCalls(context.sqs, calls);
    timeCalls(context.sns, calls);
    timeQueries(context.registry);
    const parts: ServiceParts = await paymentService.setup(context);
    if (chargeMs === undefined) {
      context.logger.info({ tuning }, 'benchmark settings');
      return { ...parts, consumer: { ...parts.consumer, ...tuning } };
    }
    // The same handler on its own pool (of the service's size), with a provider that takes chargeMs.
    const pool = new pg.Pool({ connectionString: context.env.databaseUrl, max: 10 });
    context.logger.info({ tuning, chargeMs }, 'benchmark settings');
    return {
      ...parts,
      handler: orderCreatedHandler(
        new PgPaymentStore(pool),
        sampleProvider(() => chargeMs),
        context.publisher(PAYMENT_EVENTS_TOPIC),
      ),
      consumer: { ...parts.consumer, ...tuning },
      close: async () => {
        await parts.close?.();
        await pool.end();
      },
    };
  },
};

try {
  await runService(benchPaymentService);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ level: 'fatal', msg: errorMessage(error) })}\n`);
  process.exit(1);
}
