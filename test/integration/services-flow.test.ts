// The e-commerce flow end to end: order, payment and notification services as processes on the
// samples' topics and queues in moto, with PostgreSQL. Every order ends PAID with exactly one
// payment and one notification of each kind, although every event is delivered twice and a
// payment consumer is killed in the middle of a charge.
import { describe, expect, it } from 'vitest';
import { eventually } from './support/bed.ts';
import {
  http,
  placeOrder,
  publishAgain,
  queueDepth,
  sendRaw,
  settledOrders,
  tapTopic,
  useServices,
} from './support/services.ts';

const ORDERS = 20;
/** Short, so that the messages of the killed consumer come back within seconds. */
const VISIBILITY_SECONDS = 5;

describe('the e-commerce flow', () => {
  const services = useServices({ visibilityTimeoutSeconds: VISIBILITY_SECONDS });
  const { start } = services;

  it(`ends ${ORDERS} orders PAID with ${ORDERS} payments and notifications, despite duplicates and a killed consumer`, async () => {
    const { flow, db } = services;
    const orderTap = await tapTopic(flow, 'order-events');
    const paymentTap = await tapTopic(flow, 'payment-events');
    const orders = await start('order-service');
    const notifications = await start('notification-service');
    const doomed = await start('payment-service');
    const survivor = await start('payment-service');

    // The first replica dies while it holds a charge: SIGKILL, nothing released or deleted.
    const crash = doomed.waitForLog((l) => l.msg === 'charging').then(() => doomed.kill());
    const ids = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) => placeOrder(orders, 1_000 + i, `c-${i}`)),
    );
    await crash;

    // Every OrderCreated once more through the topic (both consumers' queues get a copy), and
    // every payment result once more straight into both queues that take them.
    const created = await orderTap.drain();
    expect(created).toHaveLength(ORDERS);
    await Promise.all(created.map((m) => publishAgain(flow, 'order-events', m)));

    const statuses = await settledOrders(orders, ids);
    expect(Object.values(statuses)).toEqual(Array(ORDERS).fill('PAID'));
    const results = await paymentTap.drain();
    expect(results.length).toBeGreaterThanOrEqual(ORDERS);
    for (const result of results.slice(0, ORDERS)) {
      const attributes = Object.fromEntries(
        Object.entries(result.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
      );
      const group = result.Attributes?.['MessageGroupId'];
      expect(group).toBe((JSON.parse(result.Body ?? '{}') as { orderId: string }).orderId);
      await sendRaw(
        flow.aws.clients.sqs,
        flow.queues['order-payment-results']!,
        result.Body ?? '',
        attributes,
        group,
      );
      await sendRaw(flow.aws.clients.sqs, flow.queues['notifications']!, result.Body ?? '', attributes);
    }

    const payments = await db.pool.query<{ orders: string; payments: string; processed: string }>(
      `SELECT count(DISTINCT order_id) AS orders, count(*) AS payments,
                count(*) FILTER (WHERE status = 'PROCESSED') AS processed FROM payments`,
    );
    expect(payments.rows[0]).toEqual({
      orders: String(ORDERS),
      payments: String(ORDERS),
      processed: String(ORDERS),
    });

    // Each order: one "received" and one "paid" notification, however many copies arrived.
    const sent = await eventually(
      async () => {
        const { body } = await http(notifications.url('/notifications?limit=1000'));
        const list = body['notifications'] as { orderId: string; kind: string }[];
        return list.length >= 2 * ORDERS ? list : undefined;
      },
      { timeoutMs: 60_000, what: `${2 * ORDERS} notifications` },
    );
    for (const kind of ['order-received', 'payment-received'])
      expect(
        sent
          .filter((n) => n.kind === kind)
          .map((n) => n.orderId)
          .sort(),
      ).toEqual([...ids].sort());

    // Let the injected copies be consumed, then nothing may be left over or dead-lettered.
    for (const queue of Object.values(flow.queues)) {
      await eventually(
        async () => {
          const depth = await queueDepth(flow.aws.clients.sqs, queue.url);
          return depth.visible + depth.inFlight === 0 ? true : undefined;
        },
        { timeoutMs: 60_000, what: `queue ${queue.url} to drain` },
      );
      expect(await queueDepth(flow.aws.clients.sqs, queue.deadLetterUrl)).toEqual({
        visible: 0,
        inFlight: 0,
      });
    }
    const again = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM notifications');
    expect(again.rows[0]?.n).toBe(String(2 * ORDERS));

    // The killed replica's charge came back to the survivor after the visibility timeout,
    // and copies were recognised rather than charged or sent twice.
    const redelivered = survivor.lines.filter((l) => Number(l['receiveCount']) >= 2);
    expect(redelivered.length).toBeGreaterThan(0);
    const recognised = [doomed, survivor, notifications]
      .flatMap((p) => p.lines)
      .filter((l) =>
        [
          'duplicate message; deleting it unhandled',
          'order already charged; publishing its result again',
          'notification was sent before; not sending it again',
        ].includes(l.msg),
      );
    expect(recognised.length).toBeGreaterThan(0);

    // One trace id follows an order from the HTTP request through every service's logs.
    const first = ids[0]!;
    const accepted = orders.lines.find((l) => l.msg === 'order accepted' && l['orderId'] === first);
    const traceId = accepted?.['traceId'];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const replicas of [[doomed, survivor], [notifications], [orders]]) {
      const traced = replicas.flatMap((p) => p.lines).filter((l) => l['traceId'] === traceId);
      const where = replicas[0]?.name ?? '';
      expect(
        traced.some((l) => l.msg !== 'request served' && l.msg !== 'order accepted'),
        where,
      ).toBe(true);
    }
  }, 180_000);
});
