// Prometheus metrics of the consumer and the HTTP server, on a registry of the caller's choosing.
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  received: Counter<'queue'>;
  /** outcome: handled, duplicate (idempotency key seen before) */
  processed: Counter<'queue' | 'event_type' | 'outcome'>;
  /** reason: error, poison, shutdown */
  failed: Counter<'queue' | 'event_type' | 'reason'>;
  /** Failures handed back to SQS for another attempt (not the last receive SQS allows). */
  retried: Counter<'queue' | 'event_type'>;
  /** Failures at the last receive SQS allows: SQS moves the message to the dead-letter queue. */
  deadLettered: Counter<'queue' | 'event_type'>;
  /** Time the handler took, successful or not. */
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

/** Metric constructors bound to one registry. */
function on(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Histogram<L>({ name, help, labelNames, buckets: durationBuckets, registers }),
  };
}

/** Registers the consumer's metrics on `registry`; at most once per registry. */
export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const define = on(registry);
  const queue = ['queue'] as const;
  const byType = ['queue', 'event_type'] as const;
  return {
    received: define.counter('consumer_messages_received_total', 'Messages received from the queue.', queue),
    processed: define.counter(
      'consumer_messages_processed_total',
      'Messages processed and deleted, by outcome (handled, duplicate).',
      [...byType, 'outcome'],
    ),
    failed: define.counter(
      'consumer_messages_failed_total',
      'Messages whose handling failed, by reason (error, poison, shutdown).',
      [...byType, 'reason'],
    ),
    retried: define.counter(
      'consumer_messages_retried_total',
      'Failed messages handed back to SQS for another attempt.',
      byType,
    ),
    deadLettered: define.counter(
      'consumer_messages_dead_lettered_total',
      "Messages that failed at the last receive the queue's redrive policy allows; SQS moves them to the dead-letter queue.",
      byType,
    ),
    duration: define.histogram(
      'consumer_handler_duration_seconds',
      'Time the handler took for one message, successful or not.',
      byType,
    ),
    inFlight: define.gauge(
      'consumer_messages_in_flight',
      'Messages received and not yet deleted or released.',
      queue,
    ),
    released: define.counter(
      'consumer_messages_released_total',
      'Messages made visible again without handling them, by reason (fifo_order, shutdown).',
      [...queue, 'reason'],
    ),
    sqsErrors: define.counter(
      'consumer_sqs_errors_total',
      'Failed SQS calls, by operation (receive, delete, visibility).',
      [...queue, 'operation'],
    ),
  };
}

/** Registers the HTTP server's metrics on `registry`; at most once per registry. */
export function httpMetrics(registry: Registry): HttpMetrics {
  const define = on(registry);
  return {
    requests: define.counter(
      'http_requests_total',
      'HTTP requests served, by route pattern and status code.',
      ['method', 'route', 'status'],
    ),
    duration: define.histogram('http_request_duration_seconds', 'Time to serve one HTTP request.', [
      'method',
      'route',
    ]),
  };
}

/** Node.js process metrics (CPU, memory, event loop lag, GC) on `registry`. */
export const processMetrics = (registry: Registry): void => collectDefaultMetrics({ register: registry });
