// SIGTERM: a service stops receiving, finishes or releases what it holds within the grace period,
// says so, and exits 0; nothing it held is lost or left invisible for the visibility timeout.
import { describe, expect, it } from 'vitest';
import { eventually } from './support/bed.ts';
import { http, placeOrder, queueDepth, settledOrders, useServices } from './support/services.ts';

const ORDERS = 30;

describe('graceful shutdown', () => {
  // The samples' 30 s visibility: a message the drain failed to release would be late by 30 s.
  const services = useServices();
  const { start } = services;

  it('drains a payment consumer in the middle of its work and exits 0', async () => {
    const orders = await start('order-service');
    await start('notification-service');
    const first = await start('payment-service');
    const { flow, db } = services;

    const charging = first.waitForLog((l) => l.msg === 'charging');
    const ids = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) => placeOrder(orders, 3_000 + i, `c-${i}`)),
    );
    await charging;
    const stoppedAt = Date.now();
    expect(await first.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(25_000);

    const report = first.lines.find((l) => l.msg === 'consumer stopped');
    expect(report?.['finished']).toBeGreaterThan(0);
    expect(first.lines.some((l) => l.msg.startsWith('grace period over'))).toBe(false);
    expect(first.lines.some((l) => l.msg === 'service stopped')).toBe(true);

    // What the first replica did not take is there for the next one at once.
    const waiting = await queueDepth(flow.aws.clients.sqs, flow.queues['payment-orders']!.url);
    expect(waiting.inFlight).toBe(0);
    await start('payment-service');
    const statuses = await settledOrders(orders, ids, 25_000);
    expect(Object.values(statuses)).toEqual(Array(ORDERS).fill('PAID'));
    const payments = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM payments');
    expect(payments.rows[0]?.n).toBe(String(ORDERS));
  }, 120_000);

  it('stops the order service: not ready any more, then exit 0', async () => {
    const orders = await start('order-service');
    expect((await http(orders.url('/readyz'))).status).toBe(200);
    const id = await placeOrder(orders, 4_200);
    expect((await http(orders.url(`/orders/${id}`))).body['status']).toMatch(/PENDING|PAID/);
    // Its consumer waits out the long poll in progress (the queue is empty), meanwhile /readyz says no.
    const stopping = orders.stop();
    const notReady = await eventually(
      async () => {
        const { status, body } = await http(orders.url('/readyz'));
        return status === 503 ? body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: '/readyz to answer 503' },
    );
    expect(notReady['problems']).toMatchObject({ shutdown: 'stopping' });
    expect(await stopping).toBe(0);
    expect(orders.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['stopping', 'draining', 'consumer stopped', 'service stopped']),
    );
  }, 60_000);
});
