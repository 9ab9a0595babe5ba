import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testContext, testMessage, testRequest } from '../consumer/testing.ts';
import { orderCreated, paymentFailed, paymentProcessed } from '../shared/testing.ts';
import { money, notificationHandler, notificationRoutes } from './service.ts';
import { MemoryNotificationStore } from './store.ts';

describe('notificationHandler', () => {
  it('sends one notification per order and kind, however often an event arrives', async () => {
    const store = new MemoryNotificationStore();
    const handle = notificationHandler(store);
    const order = orderCreated(1999);
    for (let i = 0; i < 2; i++) {
      await handle(testMessage('OrderCreated', order), testContext());
      await handle(testMessage('PaymentProcessed', paymentProcessed(order.orderId)), testContext());
    }
    await handle(testMessage('PaymentFailed', paymentFailed(order.orderId)), testContext());
    expect(store.sent.map((n) => [n.kind, n.recipient])).toEqual([
      ['order-received', 'c@example.com'],
      ['payment-received', 'c@example.com'],
      ['payment-failed', 'c@example.com'],
    ]);
    expect(store.sent[0]?.text).toBe(`We received your order ${order.orderId} of 19.99 EUR.`);
    expect(store.sent[2]?.text).toContain('did not go through: card declined');
  });
});

describe('GET /notifications', () => {
  const request = (query: string) => testRequest(`/notifications?${query}`);

  it('lists what was sent, newest first, filtered by order', async () => {
    const store = new MemoryNotificationStore();
    const orderId = randomUUID();
    await store.record({ orderId, kind: 'order-received', recipient: 'a', text: 'one', eventId: 'e1' });
    await store.record({
      orderId: randomUUID(),
      kind: 'order-received',
      recipient: 'b',
      text: 'two',
      eventId: 'e2',
    });
    const [route] = notificationRoutes(store);
    const all = await route!.handle(request(''));
    expect((all.body as { notifications: { text: string }[] }).notifications.map((n) => n.text)).toEqual([
      'two',
      'one',
    ]);
    const one = await route!.handle(request(`orderId=${orderId}&limit=5`));
    expect((one.body as { notifications: unknown[] }).notifications).toHaveLength(1);
    expect((await route!.handle(request('limit=0'))).status).toBe(400);
  });

  it('formats money from cents', () => {
    expect(money(5, 'EUR')).toBe('0.05 EUR');
  });
});
