// Payments, one per order id: the unique constraint on order_id is what makes a duplicate delivery,
// a redelivery after a crash, or two replicas handling the same order at once end in one payment.
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
}

export interface PaymentClaim {
  orderId: string;
  email: string;
  amountCents: number;
  currency: string;
}

export interface PaymentStore {
  /** The order's payment: created PENDING by the first caller, the same one for every later caller. */
  claim(claim: PaymentClaim): Promise<Payment>;
  /** Records the charge's outcome once; a second call returns the payment as the first left it. */
  complete(
    paymentId: string,
    outcome: { status: 'PROCESSED' } | { status: 'FAILED'; reason: string },
  ): Promise<Payment>;
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
];

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
      `INSERT INTO payments (payment_id, order_id, email, amount_cents, currency)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`,
      [randomUUID(), claim.orderId, claim.email, claim.amountCents, claim.currency],
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
        createdAt: new Date(),
        completedAt: null,
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
}
