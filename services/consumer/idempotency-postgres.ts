// IdempotencyStore in PostgreSQL, shared by every replica of a consumer.
import type { IdempotencyStore } from './idempotency.ts';

/** What the store needs of a pg Pool or Client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
}

export const IDEMPOTENCY_TABLE_SQL = `CREATE TABLE IF NOT EXISTS consumer_handled_messages (
  consumer text NOT NULL,
  key text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, key)
)`;

/**
 * Keys live in consumer_handled_messages (create it with IDEMPOTENCY_TABLE_SQL), one set per
 * consumer name; `prune` removes keys older than the queue's retention, after which no copy of
 * the message can arrive any more.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly #db: Queryable;
  readonly #consumer: string;

  constructor(db: Queryable, consumer: string) {
    this.#db = db;
    this.#consumer = consumer;
  }

  async seen(key: string): Promise<boolean> {
    const out = await this.#db.query(
      'SELECT 1 FROM consumer_handled_messages WHERE consumer = $1 AND key = $2',
      [this.#consumer, key],
    );
    return (out.rowCount ?? 0) > 0;
  }

  async remember(key: string): Promise<void> {
    await this.#db.query(
      'INSERT INTO consumer_handled_messages (consumer, key) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [this.#consumer, key],
    );
  }

  /** Deletes keys handled more than `olderThanSeconds` ago; resolves with how many. */
  async prune(olderThanSeconds: number): Promise<number> {
    const out = await this.#db.query(
      `DELETE FROM consumer_handled_messages WHERE consumer = $1 AND handled_at < now() - make_interval(secs => $2)`,
      [this.#consumer, olderThanSeconds],
    );
    return out.rowCount ?? 0;
  }
}
