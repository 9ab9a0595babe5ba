// The services' PostgreSQL stores on the bed's PostgreSQL: what the unique constraints and
// conditional updates guarantee when replicas race.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  IDEMPOTENCY_TABLE_SQL,
  PostgresIdempotencyStore,
} from '../../services/consumer/idempotency-postgres.ts';
import { createPool, migrate, type Pool } from '../../services/shared/db.ts';
import { NOTIFICATION_SCHEMA, PgNotificationStore } from '../../services/notification/store.ts';
import { ORDER_SCHEMA, PgOrderStore } from '../../services/order/store.ts';
import { PAYMENT_SCHEMA, PgPaymentStore } from '../../services/payment/store.ts';
import { createDatabase, type TestDatabase } from './support/services.ts';

describe('the services on PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  /** A pool of its own, as each replica has. */
  const replica = () => {
    const pool = createPool(db.url, 'stores-test', pino({ level: 'silent' }));
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    db = await createDatabase();
    // Replicas starting together migrate together.
    await Promise.all(
      [ORDER_SCHEMA, PAYMENT_SCHEMA, NOTIFICATION_SCHEMA, [IDEMPOTENCY_TABLE_SQL]].flatMap((schema) =>
        [1, 2, 3].map(() => migrate(replica(), 'stores-test', schema)),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db?.drop();
  });

  it('keeps one payment per order when replicas claim it at once', async () => {
    const orderId = randomUUID();
    const claims = await Promise.all(
      Array.from({ length: 12 }, () =>
        new PgPaymentStore(replica()).claim({
          orderId,
          email: 'c@example.com',
          amountCents: 500,
          currency: 'EUR',
        }),
      ),
    );
    expect(new Set(claims.map((p) => p.paymentId)).size).toBe(1);
    const paymentId = claims[0]!.paymentId;
    const completions = await Promise.all([
      new PgPaymentStore(replica()).complete(paymentId, { status: 'PROCESSED' }),
      new PgPaymentStore(replica()).complete(paymentId, { status: 'FAILED', reason: 'late' }),
    ]);
    expect(completions[0].status).toBe(completions[1].status);
    const rows = await db.pool.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows.rows).toEqual([{ n: 1 }]);
  });

  it('applies one payment result per order, and relays each unpublished order once without holding its row lock', async () => {
    const store = new PgOrderStore(replica());
    const items = [{ sku: 'a', quantity: 2, unitPriceCents: 150 }];
    const { order } = await store.create({ customerId: 'c', email: 'c@example.com', items, currency: 'EUR' });
    expect(order).toMatchObject({ status: 'PENDING', totalCents: 300, publishedAt: null });
    const again = await store.create({
      customerId: 'c',
      email: 'c@example.com',
      items,
      currency: 'EUR',
      idempotencyKey: 'k',
    });
    expect(
      (
        await store.create({
          customerId: 'c',
          email: 'c@example.com',
          items,
          currency: 'EUR',
          idempotencyKey: 'k',
        })
      ).order.orderId,
    ).toBe(again.order.orderId);

    const paid = { orderId: order.orderId, paymentId: randomUUID(), status: 'PAID' as const };
    const outcomes = await Promise.all([
      new PgOrderStore(replica()).applyPaymentResult(paid),
      new PgOrderStore(replica()).applyPaymentResult(paid),
      new PgOrderStore(replica()).applyPaymentResult({
        ...paid,
        paymentId: randomUUID(),
        status: 'PAYMENT_FAILED',
      }),
    ]);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(await store.applyPaymentResult({ ...paid, orderId: randomUUID() })).toBe('missing');

    const published: string[] = [];
    const relays = await Promise.all(
      [1, 2, 3].map(() =>
        new PgOrderStore(replica()).relayUnpublished(0, 10, async (o) => {
          // No transaction holds the row while SNS is called.
          const locked = await db.pool.query(
            'SELECT order_id FROM orders WHERE order_id = $1 FOR UPDATE NOWAIT',
            [o.orderId],
          );
          expect(locked.rows).toHaveLength(1);
          published.push(o.orderId);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }),
      ),
    );
    expect(relays.reduce((a, b) => a + b, 0)).toBe(2);
    expect(published.sort()).toEqual([order.orderId, again.order.orderId].sort());
    expect(await store.relayUnpublished(0, 10, () => Promise.resolve())).toBe(0);
  });

  it('relays each owed payment result once across replicas, holding no row lock while publishing', async () => {
    const store = new PgPaymentStore(replica());
    await db.pool.query('UPDATE payments SET published_at = now()'); // the other tests' payments
    const owed: string[] = [];
    for (const status of ['PROCESSED', 'FAILED'] as const) {
      const payment = await store.claim({
        orderId: randomUUID(),
        email: 'c@example.com',
        amountCents: 700,
        currency: 'EUR',
        traceId: 'a'.repeat(32),
      });
      await store.complete(
        payment.paymentId,
        status === 'FAILED' ? { status, reason: 'declined' } : { status },
      );
      owed.push(payment.paymentId);
    }
    const published: string[] = [];
    const relays = await Promise.all(
      [1, 2, 3].map(() =>
        new PgPaymentStore(replica()).relayUnpublished(0, 10, async (p) => {
          expect(p.traceId).toBe('a'.repeat(32));
          // While a relay publishes, the row can be updated: no transaction holds it.
          const locked = await db.pool.query(
            `SELECT payment_id FROM payments WHERE payment_id = $1 FOR UPDATE NOWAIT`,
            [p.paymentId],
          );
          expect(locked.rows).toHaveLength(1);
          published.push(p.paymentId);
        }),
      ),
    );
    expect(relays.reduce((a, b) => a + b, 0)).toBe(2);
    expect(published.sort()).toEqual([...owed].sort());
    expect(await store.relayUnpublished(0, 10, () => Promise.resolve())).toBe(0);
    // A relay that failed to publish leaves the payment leased, then owed again.
    const failing = await store.claim({
      orderId: randomUUID(),
      email: 'c@example.com',
      amountCents: 900,
      currency: 'EUR',
    });
    await store.complete(failing.paymentId, { status: 'PROCESSED' });
    await expect(
      store.relayUnpublished(0, 10, () => Promise.reject(new Error('SNS down')), 1_000),
    ).rejects.toThrow('SNS down');
    expect(await store.relayUnpublished(0, 10, () => Promise.resolve())).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await store.relayUnpublished(0, 10, () => Promise.resolve())).toBe(1);
  });

  it('records one notification per order and kind', async () => {
    const store = new PgNotificationStore(replica());
    const orderId = randomUUID();
    const note = {
      orderId,
      kind: 'order-received' as const,
      recipient: 'c@example.com',
      text: 'hi',
      eventId: 'e',
    };
    const recorded = await Promise.all([1, 2, 3].map(() => new PgNotificationStore(replica()).record(note)));
    expect(recorded.filter(Boolean)).toHaveLength(1);
    expect(await store.list({ orderId, limit: 10 })).toMatchObject([{ orderId, kind: 'order-received' }]);
  });

  it('shares handled idempotency keys across replicas and prunes old ones', async () => {
    const one = new PostgresIdempotencyStore(replica(), 'payment-service');
    const two = new PostgresIdempotencyStore(replica(), 'payment-service');
    const other = new PostgresIdempotencyStore(replica(), 'notification-service');
    await one.remember('OrderCreated:1');
    await one.remember('OrderCreated:1');
    expect(await two.seen('OrderCreated:1')).toBe(true);
    expect(await other.seen('OrderCreated:1')).toBe(false);
    expect(await two.prune(3600)).toBe(0);
    await db.pool.query(`UPDATE consumer_handled_messages SET handled_at = now() - interval '2 hours'`);
    expect(await two.prune(3600)).toBe(1);
    expect(await one.seen('OrderCreated:1')).toBe(false);
  });
});
