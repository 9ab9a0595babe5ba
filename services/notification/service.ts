// notification-service: tells the customer about each new order and each payment result, once
// per order and kind, and shows what it sent on GET /notifications.
import { z } from 'zod';
import {
  eventHandler,
  on,
  problem,
  type HandlerContext,
  type InboundMessage,
  type MessageHandler,
  type Route,
  type ServiceDefinition,
} from '../consumer/index.ts';
import { createPool, migrate } from '../shared/db.ts';
import {
  ORDER_CREATED,
  OrderCreatedSchema,
  PAYMENT_FAILED,
  PAYMENT_PROCESSED,
  PaymentFailedSchema,
  PaymentProcessedSchema,
} from '../shared/events.ts';
import {
  NOTIFICATION_SCHEMA,
  PgNotificationStore,
  type NewNotification,
  type NotificationStore,
} from './store.ts';

export const SERVICE_NAME = 'notification-service';

export const money = (cents: number, currency: string): string => `${(cents / 100).toFixed(2)} ${currency}`;

export function notificationHandler(store: NotificationStore): MessageHandler {
  const send = async (
    notification: Omit<NewNotification, 'eventId'>,
    message: InboundMessage,
    { logger }: HandlerContext,
  ) => {
    const sent = await store.record({ ...notification, eventId: message.idempotencyKey });
    const fields = {
      orderId: notification.orderId,
      kind: notification.kind,
      recipient: notification.recipient,
    };
    if (sent) logger.info(fields, 'notification sent');
    else logger.info(fields, 'notification was sent before; not sending it again');
  };
  return eventHandler({
    [ORDER_CREATED]: on(OrderCreatedSchema, (order, message, context) =>
      send(
        {
          orderId: order.orderId,
          kind: 'order-received',
          recipient: order.email,
          text: `We received your order ${order.orderId} of ${money(order.totalCents, order.currency)}.`,
        },
        message,
        context,
      ),
    ),
    [PAYMENT_PROCESSED]: on(PaymentProcessedSchema, (payment, message, context) =>
      send(
        {
          orderId: payment.orderId,
          kind: 'payment-received',
          recipient: payment.email,
          text: `Your payment of ${money(payment.amountCents, payment.currency)} for order ${payment.orderId} went through.`,
        },
        message,
        context,
      ),
    ),
    [PAYMENT_FAILED]: on(PaymentFailedSchema, (payment, message, context) =>
      send(
        {
          orderId: payment.orderId,
          kind: 'payment-failed',
          recipient: payment.email,
          text: `Your payment for order ${payment.orderId} did not go through: ${payment.reason}.`,
        },
        message,
        context,
      ),
    ),
  });
}

const ListQuerySchema = z.object({
  orderId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function notificationRoutes(store: NotificationStore): Route[] {
  return [
    {
      method: 'GET',
      path: '/notifications',
      async handle({ query }) {
        const parsed = ListQuerySchema.safeParse(Object.fromEntries(query));
        if (!parsed.success)
          return problem(400, 'invalid query', {
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          });
        const notifications = await store.list(parsed.data);
        return {
          status: 200,
          body: { notifications: notifications.map((n) => ({ ...n, sentAt: n.sentAt.toISOString() })) },
        };
      },
    },
  ];
}

export const notificationService: ServiceDefinition = {
  name: SERVICE_NAME,
  async setup({ env, logger }) {
    const pool = createPool(env.databaseUrl, SERVICE_NAME, logger);
    await migrate(pool, SERVICE_NAME, NOTIFICATION_SCHEMA);
    const store = new PgNotificationStore(pool);
    return {
      handler: notificationHandler(store),
      routes: notificationRoutes(store),
      readiness: { database: () => pool.query('SELECT 1') },
      close: () => pool.end(),
    };
  },
};
