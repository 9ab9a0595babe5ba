// order-service: takes orders over HTTP, publishes OrderCreated to order-events, and moves each
// order to PAID or PAYMENT_FAILED when its payment result arrives from payment-events.
import {
  eventHandler,
  newTraceId,
  withTraceId,
  on,
  type Logger,
  type MessageHandler,
  type Publisher,
  type ServiceDefinition,
} from '../consumer/index.ts';
import { createPool, migrate } from '../shared/db.ts';
import {
  ORDER_CREATED,
  ORDER_EVENTS_TOPIC,
  PAYMENT_FAILED,
  PAYMENT_PROCESSED,
  PaymentFailedSchema,
  PaymentProcessedSchema,
  orderCreatedEventId,
  type OrderCreated,
} from '../shared/events.ts';
import { startRelayLoop } from '../shared/relay.ts';
import { orderRoutes } from './api.ts';
import { ORDER_SCHEMA, PgOrderStore, type Order, type OrderStore, type PaymentResult } from './store.ts';

export const SERVICE_NAME = 'order-service';
/** How long an order may wait for its OrderCreated before the relay publishes it. */
const RELAY_AFTER_MS = 10_000;
const RELAY_EVERY_MS = 5_000;

export function orderCreatedEvent(order: Order) {
  const body: OrderCreated = {
    orderId: order.orderId,
    customerId: order.customerId,
    email: order.email,
    items: order.items,
    totalCents: order.totalCents,
    currency: order.currency,
    createdAt: order.createdAt.toISOString(),
  };
  return { eventType: ORDER_CREATED, eventId: orderCreatedEventId(order.orderId), body };
}

/** Applies PaymentProcessed and PaymentFailed; a result for an unknown order is retried, then dead-lettered. */
export function paymentResultHandler(store: OrderStore): MessageHandler {
  const apply = async (result: PaymentResult, logger: Logger) => {
    const outcome = await store.applyPaymentResult(result);
    if (outcome === 'missing') throw new Error(`order ${result.orderId} does not exist`);
    if (outcome === 'conflict')
      logger.error({ ...result }, 'order already has a different payment result; keeping the first');
    else logger.info({ orderId: result.orderId, status: result.status, outcome }, 'order status updated');
  };
  return eventHandler({
    [PAYMENT_PROCESSED]: on(PaymentProcessedSchema, (event, _message, { logger }) =>
      apply({ orderId: event.orderId, paymentId: event.paymentId, status: 'PAID' }, logger),
    ),
    [PAYMENT_FAILED]: on(PaymentFailedSchema, (event, _message, { logger }) =>
      apply(
        {
          orderId: event.orderId,
          paymentId: event.paymentId,
          status: 'PAYMENT_FAILED',
          reason: event.reason,
        },
        logger,
      ),
    ),
  });
}

/** Publishes OrderCreated for orders whose first publish failed, every few seconds. */
export function startRelay(store: OrderStore, events: Publisher, logger: Logger): () => Promise<void> {
  const relay = startRelayLoop(
    'OrderCreated events',
    () =>
      store.relayUnpublished(RELAY_AFTER_MS, 50, async (order) => {
        await withTraceId(order.traceId ?? newTraceId(), () => events.publish(orderCreatedEvent(order)));
      }),
    RELAY_EVERY_MS,
    logger,
  );
  return () => relay.stop();
}

export const orderService: ServiceDefinition = {
  name: SERVICE_NAME,
  async setup({ env, logger, publisher }) {
    const pool = createPool(env.databaseUrl, SERVICE_NAME, logger);
    await migrate(pool, SERVICE_NAME, ORDER_SCHEMA);
    const store = new PgOrderStore(pool);
    const events = publisher(ORDER_EVENTS_TOPIC);
    const stopRelay = startRelay(store, events, logger);
    return {
      routes: orderRoutes({
        store,
        async publishCreated(order) {
          await events.publish(orderCreatedEvent(order));
          await store.markPublished(order.orderId);
        },
      }),
      handler: paymentResultHandler(store),
      readiness: { database: () => pool.query('SELECT 1') },
      async close() {
        await stopRelay();
        await pool.end();
      },
    };
  },
};
