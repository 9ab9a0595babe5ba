// Chaos: 50 orders flow while, one after another, a payment process is SIGKILLed in the middle of
// its batch, SNS refuses every payment result for 60 s, PostgreSQL restarts, and garbage is put at
// the head of an order's FIFO group. At the end every order is PAID or PAYMENT_FAILED as its total
// says, with one payment row and one result event each; the one poisoned message is the only thing
// in any dead-letter queue.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { CARD_LIMIT_CENTS } from '../../services/payment/provider.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { bedEnv, eventually, repoRoot } from './support/bed.ts';
import {
  http,
  placeOrder,
  queueDepth,
  sendRaw,
  settledOrders,
  tapTopic,
  useServices,
  type ServiceProcess,
} from './support/services.ts';

/** Short, so that the killed replica's messages come back within the test. */
const VISIBILITY_SECONDS = 10;
const SNS_OUTAGE_MS = 60_000;
const POISON_BODY = '{"not":"a payment result"}';

/** Stops the bed's PostgreSQL with a fast shutdown (every connection cut), then starts it again. */
async function restartPostgres(): Promise<void> {
  const pidFile = `${process.env['PUBSUB_BED_DIR'] ?? `${repoRoot}.local/bed`}/postgres.pid`;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGINT');
  await eventually(
    () => {
      try {
        process.kill(pid, 0);
        return Promise.resolve(undefined);
      } catch {
        return Promise.resolve(true);
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'PostgreSQL to stop' },
  );
  await sleep(3_000);
  const port = new URL(bedEnv()['DATABASE_URL'] ?? '').port;
  const started = spawnSync('bash', [`${repoRoot}hack/testbed/postgres.sh`], {
    env: { ...process.env, PUBSUB_BED_POSTGRES_PORT: port },
    encoding: 'utf8',
  });
  if (started.status !== 0) throw new Error(`restarting PostgreSQL failed: ${started.stderr}`);
}

const count = (service: ServiceProcess, message: string) =>
  service.lines.filter((l) => l.msg.startsWith(message)).length;

describe('chaos', () => {
  const services = useServices({ visibilityTimeoutSeconds: VISIBILITY_SECONDS });
  let proxy: FaultProxy | undefined;
  afterAll(async () => {
    await proxy?.stop();
  });

  it('ends every order PAID or PAYMENT_FAILED with one payment and one result through a kill, an SNS outage, a database restart and poison', async () => {
    const { flow, db } = services;
    const sqs = flow.aws.clients.sqs;
    proxy = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '');
    // Only payment-service publishes through the proxy: its results are what the outage hits.
    const viaProxy = { AWS_ENDPOINT_URL_SNS: proxy.endpoint };
    const orders = await services.start('order-service');
    await services.start('notification-service');
    const paymentTap = await tapTopic(flow, 'payment-events');
    const firstPayments = await services.start('payment-service', viaProxy);

    const expected = new Map<string, 'PAID' | 'PAYMENT_FAILED'>();
    let placed = 0;
    const place = (howMany: number) =>
      Promise.all(
        Array.from({ length: howMany }, async () => {
          const i = placed++;
          const declined = i % 7 === 3;
          const id = await placeOrder(orders, declined ? CARD_LIMIT_CENTS + 1 + i : 1_000 + i, `c-${i}`);
          expected.set(id, declined ? 'PAYMENT_FAILED' : 'PAID');
          return id;
        }),
      );

    // 1. A payment replica is killed in the middle of its batch; another takes over.
    const charging = firstPayments.waitForLog((l) => l.msg === 'charging');
    await place(15);
    await charging;
    await firstPayments.kill();
    const payments = await services.start('payment-service', viaProxy);

    // 2. SNS refuses every payment result for 60 s while orders keep coming.
    proxy.inject({ service: 'sns', operation: 'Publish', fault: { kind: 'server-error', status: 503 } });
    const outageEnds = Date.now() + SNS_OUTAGE_MS;
    await place(15);
    const refusing = proxy;
    await eventually(() => Promise.resolve(refusing.faultsServed() > 0 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'SNS to refuse a payment result',
    });
    await sleep(Math.max(0, outageEnds - Date.now()));
    proxy.clearFaults();

    // 3. PostgreSQL restarts under orders in flight.
    await place(15);
    await restartPostgres();

    // 4. Garbage at the head of an order's FIFO group of payment results.
    const [poisoned = ''] = await place(5);
    await sendRaw(
      sqs,
      flow.queues['order-payment-results']!,
      POISON_BODY,
      { eventType: 'PaymentProcessed' },
      poisoned,
    );

    const ids = [...expected.keys()];
    expect(ids).toHaveLength(50);
    const statuses = await settledOrders(orders, ids, 120_000);
    expect(statuses).toEqual(Object.fromEntries(expected));

    const rows = await db.pool.query<{ order_id: string; status: string; n: string; unpublished: string }>(
      `SELECT order_id, min(status) AS status, count(*) AS n, count(*) FILTER (WHERE published_at IS NULL) AS unpublished
       FROM payments GROUP BY order_id`,
    );
    expect(rows.rows).toHaveLength(50);
    for (const row of rows.rows) {
      expect(row.n).toBe('1');
      expect(row.status).toBe(expected.get(row.order_id) === 'PAID' ? 'PROCESSED' : 'FAILED');
    }

    // One result event per order: one event id, the payment's, however often SNS was asked.
    const results = await paymentTap.drain();
    const eventsByOrder = new Map<string, Set<string>>();
    const copiesByOrder = new Map<string, number>();
    for (const message of results) {
      const orderId = String((JSON.parse(message.Body ?? '{}') as { orderId?: string }).orderId);
      const eventId = message.MessageAttributes?.['eventId']?.StringValue ?? '';
      eventsByOrder.set(orderId, (eventsByOrder.get(orderId) ?? new Set()).add(eventId));
      copiesByOrder.set(orderId, (copiesByOrder.get(orderId) ?? 0) + 1);
    }
    expect([...eventsByOrder.keys()].sort()).toEqual([...ids].sort());
    expect([...eventsByOrder.values()].every((events) => events.size === 1)).toBe(true);

    // Nothing but the poison in any dead-letter queue.
    for (const queue of ['payment-orders', 'notifications'])
      expect(await queueDepth(sqs, flow.queues[queue]!.deadLetterUrl)).toEqual({ visible: 0, inFlight: 0 });
    const dead = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: flow.queues['order-payment-results']!.deadLetterUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect((dead.Messages ?? []).map((m) => [m.Body, m.Attributes?.['MessageGroupId']])).toEqual([
      [POISON_BODY, poisoned],
    ]);
    expect((await http(orders.url(`/orders/${poisoned}`))).body['status']).toBe(expected.get(poisoned));

    const copies = [...copiesByOrder.values()];
    console.log(
      JSON.stringify({
        chaos: {
          orders: ids.length,
          paid: [...expected.values()].filter((s) => s === 'PAID').length,
          paymentFailed: [...expected.values()].filter((s) => s === 'PAYMENT_FAILED').length,
          paymentRows: rows.rows.length,
          resultEvents: eventsByOrder.size,
          ordersWithMoreThanOneCopy: copies.filter((c) => c > 1).length,
          publishesRefused: proxy.faultsServed(),
          resultsLeftToTheRelay: count(payments, 'payment done but its result not published'),
          inProcessRetries:
            count(payments, 'handling failed; retrying while the message stays invisible') +
            count(orders, 'handling failed; retrying while the message stays invisible'),
          deadLettered: (dead.Messages ?? []).length,
        },
      }),
    );
  }, 240_000);

  it('keeps a FIFO queue FIFO when its attributes cannot be read at start, and receives only once they are', async () => {
    const sqsProxy = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '');
    try {
      // Every attempt of the first call is throttled, the SDK's retries included.
      sqsProxy.inject({
        service: 'sqs',
        operation: 'GetQueueAttributes',
        fault: { kind: 'throttle' },
        times: 4,
      });
      const orders = await services.start('order-service', { AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint });
      const started = orders.lines.find((l) => l.msg === 'consumer started');
      expect(started).toMatchObject({ fifo: true });
      const read = await orders.waitForLog((l) => l.msg === 'queue attributes read; receiving', 60_000);
      expect(read).toMatchObject({
        fifo: true,
        maxReceiveCount: 3,
        visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      });
      expect(orders.lines.some((l) => l.msg.startsWith('could not read the queue attributes'))).toBe(true);
      await eventually(async () => ((await http(orders.url('/readyz'))).status === 200 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'order-service ready',
      });
      await orders.stop();
    } finally {
      await sqsProxy.stop();
    }
  }, 90_000);
});
