// payment-service: charges each new order once and publishes PaymentProcessed or PaymentFailed to
// the FIFO payment-events topic, grouped by order id and deduplicated by payment id.
import {
  eventHandler,
  on,
  type MessageHandler,
  type Publisher,
  type ServiceDefinition,
} from '../consumer/index.ts';
import { createPool, migrate } from '../shared/db.ts';
import {
  ORDER_CREATED,
  OrderCreatedSchema,
  PAYMENT_EVENTS_TOPIC,
  PAYMENT_FAILED,
  PAYMENT_PROCESSED,
  paymentResultEventId,
  type PaymentFailed,
  type PaymentProcessed,
} from '../shared/events.ts';
import { sampleProvider, type PaymentProvider } from './provider.ts';
import { PAYMENT_SCHEMA, PgPaymentStore, type Payment, type PaymentStore } from './store.ts';

export const SERVICE_NAME = 'payment-service';

/** The event that reports a completed payment. */
export function paymentResultEvent(payment: Payment) {
  const common = {
    orderId: payment.orderId,
    paymentId: payment.paymentId,
    email: payment.email,
    amountCents: payment.amountCents,
    currency: payment.currency,
  };
  const at = (payment.completedAt ?? new Date()).toISOString();
  const fifo = {
    eventId: paymentResultEventId(payment.paymentId),
    groupId: payment.orderId,
    deduplicationId: payment.paymentId,
  };
  if (payment.status === 'PROCESSED') {
    const body: PaymentProcessed = { ...common, processedAt: at };
    return { ...fifo, eventType: PAYMENT_PROCESSED, body };
  }
  if (payment.status === 'FAILED') {
    const body: PaymentFailed = { ...common, reason: payment.failureReason ?? 'declined', failedAt: at };
    return { ...fifo, eventType: PAYMENT_FAILED, body };
  }
  throw new Error(`payment ${payment.paymentId} is still PENDING`);
}

/**
 * Claims the order's one payment, charges it unless an earlier delivery already did, and
 * publishes the result. A redelivery publishes the same result again with the same deduplication id.
 */
export function orderCreatedHandler(
  store: PaymentStore,
  provider: PaymentProvider,
  events: Publisher,
): MessageHandler {
  return eventHandler({
    [ORDER_CREATED]: on(OrderCreatedSchema, async (order, _message, { logger, signal }) => {
      let payment = await store.claim({
        orderId: order.orderId,
        email: order.email,
        amountCents: order.totalCents,
        currency: order.currency,
      });
      if (payment.status === 'PENDING') {
        logger.info({ orderId: order.orderId, paymentId: payment.paymentId }, 'charging');
        const result = await provider.charge(
          { paymentId: payment.paymentId, amountCents: payment.amountCents, currency: payment.currency },
          signal,
        );
        payment = await store.complete(
          payment.paymentId,
          result.approved ? { status: 'PROCESSED' } : { status: 'FAILED', reason: result.reason },
        );
      } else {
        logger.info(
          { orderId: order.orderId, paymentId: payment.paymentId },
          'order already charged; publishing its result again',
        );
      }
      await events.publish(paymentResultEvent(payment));
      logger.info(
        { orderId: order.orderId, paymentId: payment.paymentId, status: payment.status },
        'payment done',
      );
    }),
  });
}

export const paymentService: ServiceDefinition = {
  name: SERVICE_NAME,
  async setup({ env, logger, publisher }) {
    const pool = createPool(env.databaseUrl, SERVICE_NAME, logger);
    await migrate(pool, SERVICE_NAME, PAYMENT_SCHEMA);
    return {
      handler: orderCreatedHandler(
        new PgPaymentStore(pool),
        sampleProvider(),
        publisher(PAYMENT_EVENTS_TOPIC),
      ),
      readiness: { database: () => pool.query('SELECT 1') },
      close: () => pool.end(),
    };
  },
};
