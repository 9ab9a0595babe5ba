// Prometheus metrics of the consumer and the HTTP server, on a registry of the caller's choosing.
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  received: Counter<'queue'>;
  /** outcome: handled, duplicate (idempotency key seen before) */
  processed: Counter<'queue' | 'event_type' | 'outcome'>;
  /** reason: error, poison, shutdown */
  failed: Counter<'queue' | 'event_type' | 'reason'>;
  duration: Histogram<'queue' | 'event_type'>;
  inFlight: Gauge<'queue'>;
  /** Messages handed back untouched (visibility 0): behind a failed FIFO predecessor, or at shutdown. */
  released: Counter<'queue' | 'reason'>;
  /** SQS calls that failed: receive, delete, visibility. */
  sqsErrors: Counter<'queue' | 'operation'>;
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Registers the consumer's metrics on `registry`; at most once per registry. */
export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'consumer_messages_received_total',
      help: 'Messages received from the queue.',
      labelNames: ['queue'],
      registers,
    }),
    processed: new Counter({
      name: 'consumer_messages_processed_total',
      help: 'Messages processed and deleted, by outcome (handled, duplicate).',
      labelNames: ['queue', 'event_type', 'outcome'],
      registers,
    }),
    failed: new Counter({
      name: 'consumer_messages_failed_total',
      help: 'Messages whose handling failed, by reason (error, poison, shutdown).',
      labelNames: ['queue', 'event_type', 'reason'],
      registers,
    }),
    duration: new Histogram({
      name: 'consumer_message_duration_seconds',
      help: 'Time spent handling one message, successful or not.',
      labelNames: ['queue', 'event_type'],
      buckets: durationBuckets,
      registers,
    }),
    inFlight: new Gauge({
      name: 'consumer_messages_in_flight',
      help: 'Messages received and not yet deleted or released.',
      labelNames: ['queue'],
      registers,
    }),
    released: new Counter({
      name: 'consumer_messages_released_total',
      help: 'Messages made visible again without handling them, by reason (fifo_order, shutdown).',
      labelNames: ['queue', 'reason'],
      registers,
    }),
    sqsErrors: new Counter({
      name: 'consumer_sqs_errors_total',
      help: 'Failed SQS calls, by operation (receive, delete, visibility).',
      labelNames: ['queue', 'operation'],
      registers,
    }),
  };
}

/** Registers the HTTP server's metrics on `registry`; at most once per registry. */
export function httpMetrics(registry: Registry): HttpMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to serve one HTTP request.',
      labelNames: ['method', 'route'],
      buckets: durationBuckets,
      registers,
    }),
  };
}

/** Node.js process metrics (CPU, memory, event loop lag, GC) on `registry`. */
export const processMetrics = (registry: Registry): void => collectDefaultMetrics({ register: registry });
