// PostgreSQL access shared by the services: a pool from DATABASE_URL, schema set-up that replicas
// starting together cannot race on, and transactions.
import { Pool, type PoolClient } from 'pg';
import type { Logger } from 'pino';

export type { Pool, PoolClient } from 'pg';

export function createPool(databaseUrl: string | undefined, service: string, logger: Logger): Pool {
  if (!databaseUrl) throw new Error(`DATABASE_URL is not set: ${service} keeps its state in PostgreSQL`);
  const pool = new Pool({
    connectionString: databaseUrl,
    application_name: service,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 15_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle database connection lost'));
  return pool;
}

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Runs the schema statements (CREATE ... IF NOT EXISTS) under a transaction-scoped advisory lock,
 * so replicas starting at once do not collide on the catalog.
 */
export async function migrate(pool: Pool, service: string, statements: readonly string[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pubsub-services:${service}`]);
    for (const statement of statements) await client.query(statement);
  });
}
