// payment-service: charges each new order once and publishes PaymentProcessed or PaymentFailed to
// the FIFO payment-events topic, grouped by order id and deduplicated by payment id. The payment
// row is the outbox: a result that could not be published when the charge completed (SNS down,
// the process killed) is published by the relay, so every charged order gets its one result.
import {
  errorMessage,
  eventHandler,
  on,
  currentTraceId,
  newTraceId,
  withTraceId,
  type CircuitBreaker,
  type Logger,
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
import { startRelayLoop, type RelayLoop } from '../shared/relay.ts';
import { sampleProvider, type PaymentProvider } from './provider.ts';
import { PAYMENT_SCHEMA, PgPaymentStore, type Payment, type PaymentStore } from './store.ts';

export const SERVICE_NAME = 'payment-service';
/** How long a completed payment may wait for its result event before the relay publishes it. */
const RELAY_AFTER_MS = 10_000;
const RELAY_EVERY_MS = 5_000;

/** The provider behind a circuit breaker: while it keeps failing, charges fail at once and are retried later. */
export function guardedProvider(provider: PaymentProvider, breaker: CircuitBreaker): PaymentProvider {
  return { charge: (request, signal) => breaker.run(() => provider.charge(request, signal)) };
}

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
 * Claims the order's one payment, charges it unless an earlier delivery already did, and publishes
 * the result unless it went out before. A result that cannot be published now stays owed in the
 * payments table for the relay; the message is done either way.
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
        traceId: currentTraceId(),
      });
      const ids = { orderId: order.orderId, paymentId: payment.paymentId };
      if (payment.status === 'PENDING') {
        logger.info(ids, 'charging');
        const result = await provider.charge(
          { paymentId: payment.paymentId, amountCents: payment.amountCents, currency: payment.currency },
          signal,
        );
        payment = await store.complete(
          payment.paymentId,
          result.approved ? { status: 'PROCESSED' } : { status: 'FAILED', reason: result.reason },
        );
      }
      if (payment.publishedAt !== null) {
        logger.info(ids, 'order already charged and its result published');
        return;
      }
      try {
        await publishResult(store, events, payment);
      } catch (error) {
        logger.warn(
          { ...ids, err: errorMessage(error) },
          'payment done but its result not published; the outbox relay publishes it',
        );
        return;
      }
      logger.info({ ...ids, status: payment.status }, 'payment done');
    }),
  });
}

async function publishResult(store: PaymentStore, events: Publisher, payment: Payment): Promise<void> {
  await events.publish(paymentResultEvent(payment));
  await store.markPublished(payment.paymentId);
}

/** Publishes the results owed for payments completed more than `olderThanMs` ago, every few seconds. */
export function startPaymentRelay(
  store: PaymentStore,
  events: Publisher,
  logger: Logger,
  olderThanMs = RELAY_AFTER_MS,
): RelayLoop {
  return startRelayLoop(
    'payment results',
    () =>
      store.relayUnpublished(olderThanMs, 50, (payment) =>
        withTraceId(payment.traceId ?? newTraceId(), () => events.publish(paymentResultEvent(payment))).then(
          () => undefined,
        ),
      ),
    RELAY_EVERY_MS,
    logger,
  );
}

export const paymentService: ServiceDefinition = {
  name: SERVICE_NAME,
  async setup({ env, logger, publisher, breaker }) {
    const pool = createPool(env.databaseUrl, SERVICE_NAME, logger);
    await migrate(pool, SERVICE_NAME, PAYMENT_SCHEMA);
    const store = new PgPaymentStore(pool);
    const events = publisher(PAYMENT_EVENTS_TOPIC);
    const relay = startPaymentRelay(store, events, logger);
    return {
      handler: orderCreatedHandler(
        store,
        guardedProvider(sampleProvider(), breaker('payment-provider')),
        events,
      ),
      readiness: { database: () => pool.query('SELECT 1') },
      async close() {
        await relay.stop();
        await pool.end();
      },
    };
  },
};
