import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../consumer/breaker.ts';
import { RecordingPublisher, testContext, testMessage } from '../consumer/testing.ts';
import { PaymentFailedSchema, PaymentProcessedSchema } from '../shared/events.ts';
import { orderCreated } from '../shared/testing.ts';
import {
  ALWAYS_FAILING_CENTS,
  CARD_LIMIT_CENTS,
  ProviderUnavailableError,
  decide,
  sampleProvider,
} from './provider.ts';
import { guardedProvider, orderCreatedHandler, startPaymentRelay } from './service.ts';
import { MemoryPaymentStore } from './store.ts';

function setup() {
  const store = new MemoryPaymentStore();
  const events = new RecordingPublisher('arn:aws:sns:eu-west-1:123456789012:payment-events.fifo');
  let charges = 0;
  const provider = sampleProvider(() => 0);
  const handle = orderCreatedHandler(
    store,
    {
      charge: (request, signal) => {
        charges += 1;
        return provider.charge(request, signal);
      },
    },
    events,
  );
  return { store, events, handle, charges: () => charges };
}

describe('orderCreatedHandler', () => {
  it('charges an order once and publishes PaymentProcessed once, grouped by order, deduplicated by payment', async () => {
    const { store, events, handle, charges } = setup();
    const order = orderCreated(2_500);
    await handle(testMessage('OrderCreated', order), testContext());
    await handle(testMessage('OrderCreated', order), testContext());
    expect(store.payments.size).toBe(1);
    expect(charges()).toBe(1);
    const [payment] = [...store.payments.values()];
    expect(events.published).toHaveLength(1);
    for (const event of events.published) {
      expect(event).toMatchObject({
        eventType: 'PaymentProcessed',
        groupId: order.orderId,
        deduplicationId: payment?.paymentId,
        eventId: `payment-result:${payment?.paymentId}`,
      });
      expect(PaymentProcessedSchema.parse(event.body)).toMatchObject({
        orderId: order.orderId,
        amountCents: 2_500,
      });
    }
  });

  it('publishes PaymentFailed for a declined charge', async () => {
    const { events, handle } = setup();
    const order = orderCreated(CARD_LIMIT_CENTS + 1);
    await handle(testMessage('OrderCreated', order), testContext());
    expect(events.published[0]?.eventType).toBe('PaymentFailed');
    expect(PaymentFailedSchema.parse(events.published[0]?.body).reason).toBe('amount exceeds the card limit');
  });

  it('fails every time for the always-failing amount, leaving the payment PENDING', async () => {
    const { store, events, handle } = setup();
    const order = orderCreated(ALWAYS_FAILING_CENTS);
    for (let i = 0; i < 3; i++)
      await expect(handle(testMessage('OrderCreated', order), testContext())).rejects.toThrow(
        ProviderUnavailableError,
      );
    expect([...store.payments.values()].map((p) => p.status)).toEqual(['PENDING']);
    expect(events.published).toEqual([]);
  });

  it('finishes a payment an earlier delivery claimed but did not complete', async () => {
    const { store, events, handle } = setup();
    const order = orderCreated(900);
    await store.claim({ orderId: order.orderId, email: order.email, amountCents: 900, currency: 'EUR' });
    await handle(testMessage('OrderCreated', order, { receiveCount: 2 }), testContext());
    expect([...store.payments.values()].map((p) => p.status)).toEqual(['PROCESSED']);
    expect(events.published).toHaveLength(1);
  });

  it('keeps a result it could not publish in the outbox, and the relay publishes it once', async () => {
    const { store, events, handle, charges } = setup();
    const order = orderCreated(1_200);
    events.failures = 1;
    await handle(testMessage('OrderCreated', order), testContext());
    expect(events.published).toEqual([]);
    expect([...store.payments.values()].map((p) => [p.status, p.publishedAt])).toEqual([['PROCESSED', null]]);
    const relay = startPaymentRelay(store, events, pino({ level: 'silent' }), 0);
    expect(await relay.runOnce()).toBe(1);
    expect(await relay.runOnce()).toBe(0);
    await relay.stop();
    // A redelivery finds the result published: no second charge, no second event.
    await handle(testMessage('OrderCreated', order, { receiveCount: 2 }), testContext());
    expect(charges()).toBe(1);
    expect(events.published.map((e) => e.eventType)).toEqual(['PaymentProcessed']);
  });

  it('fails charges at once while the provider circuit is open', async () => {
    let calls = 0;
    const provider = guardedProvider(
      {
        charge: () => {
          calls += 1;
          return Promise.reject(new ProviderUnavailableError('down'));
        },
      },
      new CircuitBreaker('payment-provider', { failureThreshold: 2, openMs: 60_000 }),
    );
    const handle = orderCreatedHandler(new MemoryPaymentStore(), provider, new RecordingPublisher());
    for (let i = 0; i < 4; i++)
      await expect(handle(testMessage('OrderCreated', orderCreated(900)), testContext())).rejects.toThrow();
    expect(calls).toBe(2);
  });

  it('refuses a body that is not an OrderCreated', async () => {
    const { handle } = setup();
    await expect(handle(testMessage('OrderCreated', { orderId: 'x' }), testContext())).rejects.toThrow(
      /invalid OrderCreated/,
    );
  });
});

describe('decide', () => {
  it('approves, declines over the card limit, and is down for the always-failing amount', () => {
    const request = (amountCents: number) => ({ paymentId: 'p', amountCents, currency: 'EUR' });
    expect(decide(request(CARD_LIMIT_CENTS))).toEqual({ approved: true });
    expect(decide(request(CARD_LIMIT_CENTS + 1))).toEqual({
      approved: false,
      reason: 'amount exceeds the card limit',
    });
    expect(() => decide(request(ALWAYS_FAILING_CENTS))).toThrow(ProviderUnavailableError);
  });
});
