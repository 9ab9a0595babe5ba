// Poison messages: an order whose payment fails every time, a body that is not JSON, a message
// with no event type, and garbage in a FIFO group each reach their queue's dead-letter queue after
// 3 receives, while good orders keep flowing past them.
import { describe, expect, it } from 'vitest';
import { eventually } from './support/bed.ts';
import { http, placeOrder, queueDepth, sendRaw, settledOrders, useServices } from './support/services.ts';
import { ALWAYS_FAILING_CENTS, CARD_LIMIT_CENTS } from '../../services/payment/provider.ts';

describe('poison messages', () => {
  // The samples' own 30 s visibility: a failed message comes back on its backoff, not after 30 s.
  const services = useServices();
  const { start } = services;
  const deadLettered = (queue: string, count: number) =>
    eventually(
      async () => {
        const depth = await queueDepth(
          services.flow.aws.clients.sqs,
          services.flow.queues[queue]!.deadLetterUrl,
        );
        return depth.visible >= count ? depth.visible : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `${count} messages in the dead-letter queue of ${queue}` },
    );

  it('reach the dead-letter queue after 3 receives and block nothing else', async () => {
    // No retry budget: each failure is handed straight back to SQS, so the redrive comes soon.
    const noBudget = { CONSUMER_RETRY_BUDGET_SECONDS: '0' };
    const orders = await start('order-service', noBudget);
    const payments = await start('payment-service', noBudget);
    await start('notification-service', noBudget);
    const { flow, db } = services;
    const sqs = flow.aws.clients.sqs;
    const started = Date.now();

    const poisonOrder = await placeOrder(orders, ALWAYS_FAILING_CENTS, 'unlucky');
    await sendRaw(sqs, flow.queues['payment-orders']!, '{ not json', { eventType: 'OrderCreated' });
    await sendRaw(sqs, flow.queues['notifications']!, 'no attributes at all');
    await sendRaw(
      sqs,
      flow.queues['order-payment-results']!,
      '[]',
      { eventType: 'PaymentProcessed' },
      'garbage',
    );
    const good = await Promise.all([1, 2, 3, 4, 5].map((i) => placeOrder(orders, 2_000 + i, `c-${i}`)));
    const declined = await placeOrder(orders, CARD_LIMIT_CENTS + 1, 'big-spender');

    const statuses = await settledOrders(orders, [...good, declined], 60_000);
    expect(statuses).toEqual({
      ...Object.fromEntries(good.map((id) => [id, 'PAID'])),
      [declined]: 'PAYMENT_FAILED',
    });
    const { body: failed } = await http(orders.url(`/orders/${declined}`));
    expect(failed['failureReason']).toBe('amount exceeds the card limit');

    expect(await deadLettered('payment-orders', 2)).toBe(2);
    expect(await deadLettered('notifications', 1)).toBe(1);
    expect(await deadLettered('order-payment-results', 1)).toBe(1);
    // Backoff and poison handling, not the 30 s visibility timeout, paced the three receives.
    expect(Date.now() - started).toBeLessThan(30_000);

    // The failing payment was tried on receives 1, 2 and 3, then left to the redrive.
    const tries = payments.lines
      .filter((l) => l.msg.startsWith('handling failed') && String(l['err']).includes('provider unavailable'))
      .map((l) => l['receiveCount']);
    expect(tries).toEqual([1, 2, 3]);
    const { body: stuck } = await http(orders.url(`/orders/${poisonOrder}`));
    expect(stuck['status']).toBe('PENDING');
    const payment = await db.pool.query('SELECT status FROM payments WHERE order_id = $1', [poisonOrder]);
    expect(payment.rows).toEqual([{ status: 'PENDING' }]);

    const metrics = await fetch(payments.url('/metrics')).then((r) => r.text());
    expect(metrics).toMatch(/consumer_messages_failed_total\{[^}]*reason="poison"[^}]*\} 3/);
    expect(metrics).toMatch(/consumer_messages_failed_total\{[^}]*reason="error"[^}]*\} 3/);
  }, 120_000);
});
