// The order service's HTTP API: POST /orders takes an order (202 with its id), GET /orders/:id
// shows it with its status.
import { z } from 'zod';
import { errorMessage, problem, type HttpResponse, type Route } from '../consumer/index.ts';
import { CentsSchema, CurrencySchema, OrderItemSchema } from '../shared/events.ts';
import { totalCents, type Order, type OrderStore } from './store.ts';

export const CreateOrderSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  email: z.email(),
  items: z.array(OrderItemSchema).min(1).max(100),
  currency: CurrencySchema,
});
export type CreateOrder = z.output<typeof CreateOrderSchema>;

const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** An order as the API shows it. */
export const orderView = (order: Order) => ({
  orderId: order.orderId,
  status: order.status,
  customerId: order.customerId,
  email: order.email,
  items: order.items,
  totalCents: order.totalCents,
  currency: order.currency,
  paymentId: order.paymentId,
  failureReason: order.failureReason,
  createdAt: order.createdAt.toISOString(),
  updatedAt: order.updatedAt.toISOString(),
});

const invalid = (error: z.ZodError): HttpResponse =>
  problem(400, 'invalid order', {
    issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });

const sameRequest = (order: Order, request: CreateOrder): boolean =>
  order.customerId === request.customerId &&
  order.email === request.email &&
  order.currency === request.currency &&
  JSON.stringify(order.items) === JSON.stringify(request.items);

export interface OrderApiDependencies {
  store: OrderStore;
  /** Publishes OrderCreated and marks the order published; a failure leaves it to the relay. */
  publishCreated: (order: Order) => Promise<void>;
}

export function orderRoutes({ store, publishCreated }: OrderApiDependencies): Route[] {
  return [
    {
      method: 'POST',
      path: '/orders',
      async handle({ body, headers, logger }) {
        if (body === undefined)
          return problem(400, 'invalid order', { issues: [{ path: '', message: 'body is required' }] });
        const parsed = CreateOrderSchema.safeParse(body);
        if (!parsed.success) return invalid(parsed.error);
        const total = CentsSchema.safeParse(totalCents(parsed.data.items));
        if (!total.success)
          return problem(400, 'invalid order', {
            issues: [{ path: 'items', message: `the total must be 1 to ${CentsSchema.maxValue} cents` }],
          });
        const rawKey = headers['idempotency-key'];
        const key = rawKey === undefined ? undefined : IdempotencyKeySchema.safeParse(rawKey);
        if (key && !key.success)
          return problem(400, 'invalid Idempotency-Key header', { reason: key.error.issues[0]?.message });
        const { order, created } = await store.create({ ...parsed.data, idempotencyKey: key?.data });
        if (!created && !sameRequest(order, parsed.data))
          return problem(409, 'this Idempotency-Key was used for a different order', {
            orderId: order.orderId,
          });
        if (created) {
          try {
            await publishCreated(order);
          } catch (error) {
            logger.warn(
              { orderId: order.orderId, err: errorMessage(error) },
              'OrderCreated not published yet; the relay will retry',
            );
          }
        }
        logger.info({ orderId: order.orderId, created, totalCents: order.totalCents }, 'order accepted');
        return {
          status: 202,
          headers: { location: `/orders/${order.orderId}` },
          body: {
            orderId: order.orderId,
            status: order.status,
            totalCents: order.totalCents,
            currency: order.currency,
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/orders/:id',
      async handle({ params }) {
        const id = z.uuid().safeParse(params['id']);
        const order = id.success ? await store.get(id.data) : undefined;
        return order ? { status: 200, body: orderView(order) } : problem(404, 'order not found');
      },
    },
  ];
}
