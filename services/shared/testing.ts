// Events of the flow for tests, valid by their schemas; `overrides` change what a test cares about.
import { randomUUID } from 'node:crypto';
import type { OrderCreated, PaymentFailed, PaymentProcessed } from './events.ts';

export function orderCreated(totalCents = 1999, overrides: Partial<OrderCreated> = {}): OrderCreated {
  return {
    orderId: randomUUID(),
    customerId: 'c',
    email: 'c@example.com',
    items: [{ sku: 's', quantity: 1, unitPriceCents: totalCents }],
    totalCents,
    currency: 'EUR',
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

const paymentOf = (orderId: string) => ({
  orderId,
  paymentId: randomUUID(),
  email: 'c@example.com',
  amountCents: 1999,
  currency: 'EUR',
});

export const paymentProcessed = (
  orderId: string,
  overrides: Partial<PaymentProcessed> = {},
): PaymentProcessed => ({
  ...paymentOf(orderId),
  processedAt: new Date().toISOString(),
  ...overrides,
});

export const paymentFailed = (orderId: string, overrides: Partial<PaymentFailed> = {}): PaymentFailed => ({
  ...paymentOf(orderId),
  reason: 'card declined',
  failedAt: new Date().toISOString(),
  ...overrides,
});
