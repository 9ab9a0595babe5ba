import { describe, expect, it } from 'vitest';
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
import { orderCreatedHandler } from './service.ts';
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
  it('charges an order once and publishes PaymentProcessed grouped by order, deduplicated by payment', async () => {
    const { store, events, handle, charges } = setup();
    const order = orderCreated(2_500);
    await handle(testMessage('OrderCreated', order), testContext());
    await handle(testMessage('OrderCreated', order), testContext());
    expect(store.payments.size).toBe(1);
    expect(charges()).toBe(1);
    const [payment] = [...store.payments.values()];
    expect(events.published).toHaveLength(2);
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
