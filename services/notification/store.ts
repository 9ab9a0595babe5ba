// Notifications sent, one per order and kind: the unique key makes a duplicate event a no-op.
import { randomUUID } from 'node:crypto';
import type { Pool } from '../shared/db.ts';

export type NotificationKind = 'order-received' | 'payment-received' | 'payment-failed';

export interface NewNotification {
  orderId: string;
  kind: NotificationKind;
  recipient: string;
  text: string;
  /** The event it answers. */
  eventId: string;
}

export interface Notification extends NewNotification {
  notificationId: string;
  sentAt: Date;
}

export interface NotificationQuery {
  orderId?: string | undefined;
  limit: number;
}

export interface NotificationStore {
  /** False when this order already has a notification of this kind. */
  record(notification: NewNotification): Promise<boolean>;
  /** Newest first. */
  list(query: NotificationQuery): Promise<Notification[]>;
}

export const NOTIFICATION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS notifications (
    notification_id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    kind text NOT NULL,
    recipient text NOT NULL,
    text text NOT NULL,
    event_id text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_once_per_order_and_kind UNIQUE (order_id, kind)
  )`,
  `CREATE INDEX IF NOT EXISTS notifications_sent_at ON notifications (sent_at DESC)`,
];

interface NotificationRow {
  notification_id: string;
  order_id: string;
  kind: NotificationKind;
  recipient: string;
  text: string;
  event_id: string;
  sent_at: Date;
}

export class PgNotificationStore implements NotificationStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async record(n: NewNotification): Promise<boolean> {
    const out = await this.#pool.query(
      `INSERT INTO notifications (notification_id, order_id, kind, recipient, text, event_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id, kind) DO NOTHING`,
      [randomUUID(), n.orderId, n.kind, n.recipient, n.text, n.eventId],
    );
    return out.rowCount === 1;
  }

  async list({ orderId, limit }: NotificationQuery): Promise<Notification[]> {
    const out = await this.#pool.query<NotificationRow>(
      `SELECT * FROM notifications WHERE $1::uuid IS NULL OR order_id = $1
       ORDER BY sent_at DESC, notification_id LIMIT $2`,
      [orderId ?? null, limit],
    );
    return out.rows.map((row) => ({
      notificationId: row.notification_id,
      orderId: row.order_id,
      kind: row.kind,
      recipient: row.recipient,
      text: row.text,
      eventId: row.event_id,
      sentAt: row.sent_at,
    }));
  }
}

export class MemoryNotificationStore implements NotificationStore {
  readonly sent: Notification[] = [];

  record(n: NewNotification): Promise<boolean> {
    if (this.sent.some((s) => s.orderId === n.orderId && s.kind === n.kind)) return Promise.resolve(false);
    this.sent.push({ ...n, notificationId: randomUUID(), sentAt: new Date() });
    return Promise.resolve(true);
  }

  list({ orderId, limit }: NotificationQuery): Promise<Notification[]> {
    return Promise.resolve(
      this.sent
        .filter((n) => orderId === undefined || n.orderId === orderId)
        .reverse()
        .slice(0, limit),
    );
  }
}
