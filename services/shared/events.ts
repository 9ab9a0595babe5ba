// The events of the e-commerce flow, their topics, and the JSON bodies every service agrees on.
import { z } from 'zod';

export const ORDER_EVENTS_TOPIC = 'order-events';
export const PAYMENT_EVENTS_TOPIC = 'payment-events';

export const ORDER_CREATED = 'OrderCreated';
export const PAYMENT_PROCESSED = 'PaymentProcessed';
export const PAYMENT_FAILED = 'PaymentFailed';

/** Amounts are integer minor units (cents), never floats. */
export const CentsSchema = z.int().min(1).max(100_000_000);
export const CurrencySchema = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR');

export const OrderItemSchema = z.object({
  sku: z.string().min(1).max(64),
  quantity: z.int().min(1).max(1000),
  unitPriceCents: CentsSchema,
});
export type OrderItem = z.output<typeof OrderItemSchema>;

export const OrderCreatedSchema = z.object({
  orderId: z.uuid(),
  customerId: z.string().min(1).max(64),
  email: z.email(),
  items: z.array(OrderItemSchema).min(1).max(100),
  totalCents: CentsSchema,
  currency: CurrencySchema,
  createdAt: z.iso.datetime(),
});
export type OrderCreated = z.output<typeof OrderCreatedSchema>;

const paymentResult = {
  orderId: z.uuid(),
  paymentId: z.uuid(),
  email: z.email(),
  amountCents: CentsSchema,
  currency: CurrencySchema,
};

export const PaymentProcessedSchema = z.object({ ...paymentResult, processedAt: z.iso.datetime() });
export type PaymentProcessed = z.output<typeof PaymentProcessedSchema>;

export const PaymentFailedSchema = z.object({
  ...paymentResult,
  reason: z.string().min(1).max(500),
  failedAt: z.iso.datetime(),
});
export type PaymentFailed = z.output<typeof PaymentFailedSchema>;

/** Event ids are derived from what the event is about, so a republished event keeps its id. */
export const orderCreatedEventId = (orderId: string): string => `${ORDER_CREATED}:${orderId}`;
export const paymentResultEventId = (paymentId: string): string => `payment-result:${paymentId}`;
