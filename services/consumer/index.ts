// The consumer runtime's public API.
export {
  backoffSeconds,
  DEFAULT_BACKOFF,
  DEFAULT_RETRY,
  retryDelayMs,
  type BackoffPolicy,
  type RetryPolicy,
} from './backoff.ts';
export {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitBreakerOptions,
  type CircuitState,
} from './breaker.ts';
export {
  CONSUMER_DEFAULTS,
  runtimeEnv,
  topicArn,
  topicArnEnvName,
  type ConsumerEnv,
  type RuntimeEnv,
} from './config.ts';
export {
  Consumer,
  HandlerTimeoutError,
  type ConsumerOptions,
  type ConsumerState,
  type HandlerContext,
  type MessageHandler,
  type StopReport,
} from './consumer.ts';
export { errorMessage, PoisonMessageError, isPoison } from './errors.ts';
export { eventHandler, on, type EventHandlerOptions, type EventRoute } from './events.ts';
export {
  createHttpServer,
  problem,
  type HttpRequest,
  type HttpResponse,
  type Method,
  type Route,
} from './http.ts';
export { MemoryIdempotencyStore, type IdempotencyStore } from './idempotency.ts';
export { IDEMPOTENCY_TABLE_SQL, PostgresIdempotencyStore, type Queryable } from './idempotency-postgres.ts';
export { createLogger, type Logger } from './logger.ts';
export { decodeMessage, EVENT_ID_ATTRIBUTE, EVENT_TYPE_ATTRIBUTE, type InboundMessage } from './message.ts';
export { consumerMetrics, httpMetrics, type ConsumerMetrics } from './metrics.ts';
export {
  guardedPublisher,
  publishInput,
  snsPublisher,
  type OutboundEvent,
  type Publisher,
} from './publisher.ts';
export { queueSettingsFrom, sqsQueueClient, type QueueClient, type QueueSettings } from './queue.ts';
export {
  runService,
  type ConsumerTuning,
  type RunningService,
  type RunOptions,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceParts,
} from './service.ts';
export { currentTraceId, newTraceId, TRACE_ID_ATTRIBUTE, TRACE_ID_HEADER, withTraceId } from './trace.ts';
