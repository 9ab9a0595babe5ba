// Orders and their status, in PostgreSQL (PgOrderStore) or in memory for tests (MemoryOrderStore).
// Each order also remembers whether its OrderCreated event went out: a relay publishes the ones a
// crash or an SNS outage left behind (a transactional outbox kept in the orders table).
import { randomUUID } from 'node:crypto';
import { currentTraceId } from '../consumer/index.ts';
import type { Pool } from '../shared/db.ts';
import type { OrderItem } from '../shared/events.ts';

export type OrderStatus = 'PENDING' | 'PAID' | 'PAYMENT_FAILED';

export interface Order {
  orderId: string;
  customerId: string;
  email: string;
  items: OrderItem[];
  totalCents: number;
  currency: string;
  status: OrderStatus;
  paymentId: string | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date | null;
  /** The trace of the request that created it, carried on to OrderCreated when the relay publishes. */
  traceId: string | null;
}

export interface NewOrder {
  customerId: string;
  email: string;
  items: OrderItem[];
  currency: string;
  /** The client's Idempotency-Key: a retried POST finds the order it created before. */
  idempotencyKey?: string | undefined;
}

export interface PaymentResult {
  orderId: string;
  paymentId: string;
  status: Exclude<OrderStatus, 'PENDING'>;
  reason?: string | undefined;
}

/** applied: PENDING moved; already: this result was applied before; conflict: another result was; missing: no such order. */
export type ApplyOutcome = 'applied' | 'already' | 'conflict' | 'missing';

export interface OrderStore {
  /** created is false when the idempotency key names an existing order, which is returned. */
  create(order: NewOrder): Promise<{ order: Order; created: boolean }>;
  get(orderId: string): Promise<Order | undefined>;
  markPublished(orderId: string): Promise<void>;
  /**
   * Hands each order whose event has not gone out `olderThanMs` after its creation to `publish`,
   * and marks the ones published; resolves with how many were.
   */
  relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (order: Order) => Promise<void>,
  ): Promise<number>;
  /** Moves a PENDING order to PAID or PAYMENT_FAILED; repeating a result changes nothing. */
  applyPaymentResult(result: PaymentResult): Promise<ApplyOutcome>;
}

export const totalCents = (items: readonly OrderItem[]): number =>
  items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);

function outcomeFor(order: Order | undefined, result: PaymentResult): ApplyOutcome {
  if (!order) return 'missing';
  if (order.status === 'PENDING') return 'applied';
  return order.status === result.status && order.paymentId === result.paymentId ? 'already' : 'conflict';
}

export const ORDER_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS orders (
    order_id uuid PRIMARY KEY,
    idempotency_key text UNIQUE,
    customer_id text NOT NULL,
    email text NOT NULL,
    items jsonb NOT NULL,
    total_cents integer NOT NULL CHECK (total_cents > 0),
    currency char(3) NOT NULL,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PAID', 'PAYMENT_FAILED')),
    payment_id uuid,
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
  )`,
  `CREATE INDEX IF NOT EXISTS orders_unpublished ON orders (created_at) WHERE published_at IS NULL`,
  `ALTER TABLE orders ADD COLUMN IF NOT EXISTS relay_lease_until timestamptz`,
  `ALTER TABLE orders ADD COLUMN IF NOT EXISTS trace_id text`,
];

/** How long a relay owns an order it took, before another may take it. */
const RELAY_LEASE_MS = 30_000;

interface OrderRow {
  order_id: string;
  customer_id: string;
  email: string;
  items: OrderItem[];
  total_cents: number;
  currency: string;
  status: OrderStatus;
  payment_id: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  trace_id: string | null;
}

const fromRow = (row: OrderRow): Order => ({
  orderId: row.order_id,
  customerId: row.customer_id,
  email: row.email,
  items: row.items,
  totalCents: row.total_cents,
  currency: row.currency,
  status: row.status,
  paymentId: row.payment_id,
  failureReason: row.failure_reason,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  publishedAt: row.published_at,
  traceId: row.trace_id,
});

export class PgOrderStore implements OrderStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async create(order: NewOrder): Promise<{ order: Order; created: boolean }> {
    const inserted = await this.#pool.query<OrderRow>(
      `INSERT INTO orders (order_id, idempotency_key, customer_id, email, items, total_cents, currency, trace_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
      [
        randomUUID(),
        order.idempotencyKey ?? null,
        order.customerId,
        order.email,
        JSON.stringify(order.items),
        totalCents(order.items),
        order.currency,
        currentTraceId() ?? null,
      ],
    );
    const row = inserted.rows[0];
    if (row) return { order: fromRow(row), created: true };
    const existing = await this.#pool.query<OrderRow>('SELECT * FROM orders WHERE idempotency_key = $1', [
      order.idempotencyKey,
    ]);
    const found = existing.rows[0];
    if (!found) throw new Error('order vanished between its idempotent insert and the read after it');
    return { order: fromRow(found), created: false };
  }

  async get(orderId: string): Promise<Order | undefined> {
    const out = await this.#pool.query<OrderRow>('SELECT * FROM orders WHERE order_id = $1', [orderId]);
    return out.rows[0] && fromRow(out.rows[0]);
  }

  async markPublished(orderId: string): Promise<void> {
    await this.#pool.query(
      'UPDATE orders SET published_at = now() WHERE order_id = $1 AND published_at IS NULL',
      [orderId],
    );
  }

  async relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (order: Order) => Promise<void>,
  ): Promise<number> {
    // Leased in one short statement (SKIP LOCKED: replicas relaying at once take different
    // orders), published outside any transaction, so no row lock waits on SNS.
    const leased = await this.#pool.query<OrderRow>(
      `UPDATE orders SET relay_lease_until = now() + make_interval(secs => $3)
       WHERE order_id IN (
         SELECT order_id FROM orders
         WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1)
           AND (relay_lease_until IS NULL OR relay_lease_until < now())
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [olderThanMs / 1000, limit, RELAY_LEASE_MS / 1000],
    );
    let published = 0;
    for (const row of leased.rows.sort((a, b) => Number(a.created_at) - Number(b.created_at))) {
      await publish(fromRow(row));
      await this.markPublished(row.order_id);
      published += 1;
    }
    return published;
  }

  async applyPaymentResult(result: PaymentResult): Promise<ApplyOutcome> {
    const updated = await this.#pool.query(
      `UPDATE orders SET status = $2, payment_id = $3, failure_reason = $4, updated_at = now()
       WHERE order_id = $1 AND status = 'PENDING'`,
      [result.orderId, result.status, result.paymentId, result.reason ?? null],
    );
    if (updated.rowCount === 1) return 'applied';
    return outcomeFor(await this.get(result.orderId), result);
  }
}

export class MemoryOrderStore implements OrderStore {
  readonly orders = new Map<string, Order>();
  /** Order id → the idempotency key it was created with. */
  readonly #keys = new Map<string, string>();

  create(order: NewOrder): Promise<{ order: Order; created: boolean }> {
    const existing = [...this.orders.values()].find(
      (o) => order.idempotencyKey !== undefined && this.#keys.get(o.orderId) === order.idempotencyKey,
    );
    if (existing) return Promise.resolve({ order: structuredClone(existing), created: false });
    const now = new Date();
    const created: Order = {
      orderId: randomUUID(),
      customerId: order.customerId,
      email: order.email,
      items: structuredClone(order.items),
      totalCents: totalCents(order.items),
      currency: order.currency,
      status: 'PENDING',
      paymentId: null,
      failureReason: null,
      createdAt: now,
      updatedAt: now,
      publishedAt: null,
      traceId: currentTraceId() ?? null,
    };
    this.orders.set(created.orderId, created);
    if (order.idempotencyKey !== undefined) this.#keys.set(created.orderId, order.idempotencyKey);
    return Promise.resolve({ order: structuredClone(created), created: true });
  }

  get(orderId: string): Promise<Order | undefined> {
    const order = this.orders.get(orderId);
    return Promise.resolve(order && structuredClone(order));
  }

  markPublished(orderId: string): Promise<void> {
    const order = this.orders.get(orderId);
    if (order) order.publishedAt ??= new Date();
    return Promise.resolve();
  }

  async relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (order: Order) => Promise<void>,
  ): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    const due = [...this.orders.values()]
      .filter((o) => o.publishedAt === null && o.createdAt.getTime() < cutoff)
      .slice(0, limit);
    for (const order of due) {
      await publish(structuredClone(order));
      order.publishedAt = new Date();
    }
    return due.length;
  }

  applyPaymentResult(result: PaymentResult): Promise<ApplyOutcome> {
    const order = this.orders.get(result.orderId);
    const outcome = outcomeFor(order, result);
    if (order && outcome === 'applied') {
      order.status = result.status;
      order.paymentId = result.paymentId;
      order.failureReason = result.reason ?? null;
      order.updatedAt = new Date();
    }
    return Promise.resolve(outcome);
  }
}
