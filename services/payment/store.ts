// Payments, one per order id: the unique constraint on order_id is what makes a duplicate delivery,
// a redelivery after a crash, or two replicas handling the same order at once end in one payment.
// Each payment also remembers whether its result event went out (published_at): the payments table
// is the outbox a relay drains when publishing failed or the process died after the charge.
import { randomUUID } from 'node:crypto';
import type { Pool } from '../shared/db.ts';

export type PaymentStatus = 'PENDING' | 'PROCESSED' | 'FAILED';

export interface Payment {
  paymentId: string;
  orderId: string;
  email: string;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  failureReason: string | null;
  createdAt: Date;
  completedAt: Date | null;
  /** When the result event was published; null while it is owed. */
  publishedAt: Date | null;
  /** The trace of the OrderCreated that claimed it, carried on to the result event. */
  traceId: string | null;
}

export interface PaymentClaim {
  orderId: string;
  email: string;
  amountCents: number;
  currency: string;
  traceId?: string | undefined;
}

export interface PaymentStore {
  /** The order's payment: created PENDING by the first caller, the same one for every later caller. */
  claim(claim: PaymentClaim): Promise<Payment>;
  /** Records the charge's outcome once; a second call returns the payment as the first left it. */
  complete(
    paymentId: string,
    outcome: { status: 'PROCESSED' } | { status: 'FAILED'; reason: string },
  ): Promise<Payment>;
  markPublished(paymentId: string): Promise<void>;
  /**
   * Hands each completed payment whose result has not gone out `olderThanMs` after completion to
   * `publish`, and marks the ones published; resolves with how many were. No lock is held while
   * publishing: each payment is leased for `leaseMs`, so replicas relaying at once take different ones.
   */
  relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (payment: Payment) => Promise<void>,
    leaseMs?: number,
  ): Promise<number>;
}

export const PAYMENT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS payments (
    payment_id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    email text NOT NULL,
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    currency char(3) NOT NULL,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PROCESSED', 'FAILED')),
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT payments_one_per_order UNIQUE (order_id)
  )`,
  // The outbox columns. Payments that existed before them count as published.
  `ALTER TABLE payments ADD COLUMN IF NOT EXISTS published_at timestamptz DEFAULT now()`,
  `ALTER TABLE payments ALTER COLUMN published_at DROP DEFAULT`,
  `ALTER TABLE payments ADD COLUMN IF NOT EXISTS relay_lease_until timestamptz`,
  `ALTER TABLE payments ADD COLUMN IF NOT EXISTS trace_id text`,
  `CREATE INDEX IF NOT EXISTS payments_unpublished ON payments (completed_at)
     WHERE published_at IS NULL AND completed_at IS NOT NULL`,
];

/** How long a relay owns a payment it took, before another may take it. */
const RELAY_LEASE_MS = 30_000;

interface PaymentRow {
  payment_id: string;
  order_id: string;
  email: string;
  amount_cents: number;
  currency: string;
  status: PaymentStatus;
  failure_reason: string | null;
  created_at: Date;
  completed_at: Date | null;
  published_at: Date | null;
  trace_id: string | null;
}

const fromRow = (row: PaymentRow): Payment => ({
  paymentId: row.payment_id,
  orderId: row.order_id,
  email: row.email,
  amountCents: row.amount_cents,
  currency: row.currency,
  status: row.status,
  failureReason: row.failure_reason,
  createdAt: row.created_at,
  completedAt: row.completed_at,
  publishedAt: row.published_at,
  traceId: row.trace_id,
});

export class PgPaymentStore implements PaymentStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async claim(claim: PaymentClaim): Promise<Payment> {
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same order to commit or roll back,
    // so the SELECT after it always finds the one payment.
    await this.#pool.query(
      `INSERT INTO payments (payment_id, order_id, email, amount_cents, currency, trace_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING`,
      [randomUUID(), claim.orderId, claim.email, claim.amountCents, claim.currency, claim.traceId ?? null],
    );
    return this.#byOrder(claim.orderId);
  }

  async complete(
    paymentId: string,
    outcome: { status: 'PROCESSED' } | { status: 'FAILED'; reason: string },
  ): Promise<Payment> {
    const out = await this.#pool.query<PaymentRow>(
      `UPDATE payments SET status = $2, failure_reason = $3, completed_at = now()
       WHERE payment_id = $1 AND status = 'PENDING' RETURNING *`,
      [paymentId, outcome.status, outcome.status === 'FAILED' ? outcome.reason : null],
    );
    if (out.rows[0]) return fromRow(out.rows[0]);
    const current = await this.#pool.query<PaymentRow>('SELECT * FROM payments WHERE payment_id = $1', [
      paymentId,
    ]);
    if (!current.rows[0]) throw new Error(`payment ${paymentId} does not exist`);
    return fromRow(current.rows[0]);
  }

  async markPublished(paymentId: string): Promise<void> {
    await this.#pool.query(
      'UPDATE payments SET published_at = now(), relay_lease_until = NULL WHERE payment_id = $1 AND published_at IS NULL',
      [paymentId],
    );
  }

  async relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (payment: Payment) => Promise<void>,
    leaseMs = RELAY_LEASE_MS,
  ): Promise<number> {
    // Leased in one short statement, published outside any transaction.
    const leased = await this.#pool.query<PaymentRow>(
      `UPDATE payments SET relay_lease_until = now() + make_interval(secs => $3)
       WHERE payment_id IN (
         SELECT payment_id FROM payments
         WHERE published_at IS NULL AND completed_at IS NOT NULL
           AND completed_at < now() - make_interval(secs => $1)
           AND (relay_lease_until IS NULL OR relay_lease_until < now())
         ORDER BY completed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [olderThanMs / 1000, limit, leaseMs / 1000],
    );
    let published = 0;
    for (const row of leased.rows.sort((a, b) => Number(a.completed_at) - Number(b.completed_at))) {
      await publish(fromRow(row));
      await this.markPublished(row.payment_id);
      published += 1;
    }
    return published;
  }

  async #byOrder(orderId: string): Promise<Payment> {
    const out = await this.#pool.query<PaymentRow>('SELECT * FROM payments WHERE order_id = $1', [orderId]);
    if (!out.rows[0]) throw new Error(`payment of order ${orderId} vanished after its claim`);
    return fromRow(out.rows[0]);
  }
}

export class MemoryPaymentStore implements PaymentStore {
  readonly payments = new Map<string, Payment>();

  claim(claim: PaymentClaim): Promise<Payment> {
    let payment = [...this.payments.values()].find((p) => p.orderId === claim.orderId);
    if (!payment) {
      payment = {
        ...claim,
        paymentId: randomUUID(),
        status: 'PENDING',
        failureReason: null,
        traceId: claim.traceId ?? null,
        createdAt: new Date(),
        completedAt: null,
        publishedAt: null,
      };
      this.payments.set(payment.paymentId, payment);
    }
    return Promise.resolve({ ...payment });
  }

  complete(
    paymentId: string,
    outcome: { status: 'PROCESSED' } | { status: 'FAILED'; reason: string },
  ): Promise<Payment> {
    const payment = this.payments.get(paymentId);
    if (!payment) return Promise.reject(new Error(`payment ${paymentId} does not exist`));
    if (payment.status === 'PENDING') {
      payment.status = outcome.status;
      payment.failureReason = outcome.status === 'FAILED' ? outcome.reason : null;
      payment.completedAt = new Date();
    }
    return Promise.resolve({ ...payment });
  }

  markPublished(paymentId: string): Promise<void> {
    const payment = this.payments.get(paymentId);
    if (payment) payment.publishedAt ??= new Date();
    return Promise.resolve();
  }

  async relayUnpublished(
    olderThanMs: number,
    limit: number,
    publish: (payment: Payment) => Promise<void>,
  ): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    const due = [...this.payments.values()]
      .filter((p) => p.publishedAt === null && p.completedAt !== null && p.completedAt.getTime() <= cutoff)
      .slice(0, limit);
    for (const payment of due) {
      await publish({ ...payment });
      payment.publishedAt = new Date();
    }
    return due.length;
  }
}
