import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RecordingPublisher, testContext, testMessage } from '../consumer/testing.ts';
import { PaymentProcessedSchema } from '../shared/events.ts';
import { paymentFailed, paymentProcessed } from '../shared/testing.ts';
import { orderCreatedEvent, paymentResultHandler, startRelay } from './service.ts';
import { MemoryOrderStore } from './store.ts';

const newOrder = {
  customerId: 'c',
  email: 'c@example.com',
  currency: 'EUR',
  items: [{ sku: 's', quantity: 3, unitPriceCents: 500 }],
};

describe('paymentResultHandler', () => {
  it('moves PENDING to PAID once, however often the result arrives', async () => {
    const store = new MemoryOrderStore();
    const { order } = await store.create(newOrder);
    const handle = paymentResultHandler(store);
    const event = paymentProcessed(order.orderId);
    expect(PaymentProcessedSchema.parse(event)).toEqual(event);
    await handle(testMessage('PaymentProcessed', event), testContext());
    await handle(testMessage('PaymentProcessed', event), testContext());
    expect(await store.get(order.orderId)).toMatchObject({ status: 'PAID', paymentId: event.paymentId });
  });

  it('moves PENDING to PAYMENT_FAILED with the reason, and keeps the first result', async () => {
    const store = new MemoryOrderStore();
    const { order } = await store.create(newOrder);
    const handle = paymentResultHandler(store);
    await handle(testMessage('PaymentFailed', paymentFailed(order.orderId)), testContext());
    await handle(testMessage('PaymentProcessed', paymentProcessed(order.orderId)), testContext());
    expect(await store.get(order.orderId)).toMatchObject({
      status: 'PAYMENT_FAILED',
      failureReason: 'card declined',
    });
  });

  it('fails (to be retried, then dead-lettered) for an order it does not know', async () => {
    const handle = paymentResultHandler(new MemoryOrderStore());
    const missing = randomUUID();
    await expect(
      handle(testMessage('PaymentProcessed', paymentProcessed(missing)), testContext()),
    ).rejects.toThrow(`order ${missing} does not exist`);
  });
});

describe('the OrderCreated relay', () => {
  it('publishes what the API could not, with the same event id', async () => {
    const store = new MemoryOrderStore();
    const { order } = await store.create(newOrder);
    const stale = store.orders.get(order.orderId);
    if (stale) stale.createdAt = new Date(Date.now() - 60_000);
    const events = new RecordingPublisher();
    events.failures = 1;
    let relayed = 0;
    const relay = () =>
      store.relayUnpublished(10_000, 10, (o) =>
        events.publish(orderCreatedEvent(o)).then(() => void relayed++),
      );
    await expect(relay()).rejects.toThrow('injected');
    expect(await relay()).toBe(1);
    expect(await relay()).toBe(0);
    expect(relayed).toBe(1);
    expect(events.published[0]).toMatchObject({
      eventType: 'OrderCreated',
      eventId: `OrderCreated:${order.orderId}`,
    });
    const stop = startRelay(store, events, pino({ level: 'silent' }));
    await stop();
  });
});
