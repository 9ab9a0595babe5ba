// Every AWS API call the operator makes is reported to an AwsCallObserver: the runtime's metrics
// turn the reports into Prometheus series, and tests count them to pin down what an operation costs.
import { Counter, Histogram, type Registry } from 'prom-client';

export type AwsService = 'sqs' | 'sns' | 'cloudwatch' | 'sts' | 'kms';

/** One logical API call: every retry the SDK made for it is inside `durationSeconds` and `attempts`. */
export interface AwsCall {
  service: AwsService;
  /** The API operation without the SDK's `Command` suffix, e.g. `GetQueueUrl`. */
  operation: string;
  /** `success`, or the name of the error the call finally failed with (e.g. `QueueDoesNotExist`). */
  outcome: string;
  durationSeconds: number;
  /** HTTP attempts the SDK made, retries included (1 when the SDK did not say). */
  attempts: number;
}

export interface AwsCallObserver {
  observe(call: AwsCall): void;
}

/** Reports to several observers; one that throws never hides the call from the others. */
export function combineObservers(...observers: readonly AwsCallObserver[]): AwsCallObserver {
  return {
    observe(call) {
      for (const observer of observers) {
        try {
          observer.observe(call);
        } catch {
          // An observer's failure must never fail the AWS call it observes.
        }
      }
    },
  };
}

export interface CallFilter {
  service?: AwsService;
  operation?: string;
  outcome?: string;
}

function matches(call: AwsCall, filter: CallFilter): boolean {
  return (
    (filter.service === undefined || call.service === filter.service) &&
    (filter.operation === undefined || call.operation === filter.operation) &&
    (filter.outcome === undefined || call.outcome === filter.outcome)
  );
}

/**
 * Remembers every call so a test can assert "this reconcile cost three calls":
 * `counter.count()`, `counter.count({ operation: 'CreateQueue' })`, `counter.byOperation()`.
 */
export class AwsCallCounter implements AwsCallObserver {
  readonly calls: AwsCall[] = [];

  observe(call: AwsCall): void {
    this.calls.push(call);
  }

  /** Logical calls matching `filter` (all calls without one). */
  count(filter: CallFilter = {}): number {
    return this.calls.filter((call) => matches(call, filter)).length;
  }

  /** HTTP attempts, retries included, of the calls matching `filter`. */
  attempts(filter: CallFilter = {}): number {
    return this.calls.filter((call) => matches(call, filter)).reduce((sum, call) => sum + call.attempts, 0);
  }

  /** Calls per `service:Operation`, e.g. `{ 'sqs:GetQueueUrl': 1, 'sqs:GetQueueAttributes': 1 }`. */
  byOperation(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.calls) {
      const key = `${call.service}:${call.operation}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  reset(): void {
    this.calls.length = 0;
  }
}

export const AWS_CALLS_TOTAL = 'pubsub_aws_api_calls_total';
export const AWS_CALL_DURATION_SECONDS = 'pubsub_aws_api_call_duration_seconds';

/**
 * An observer that feeds `pubsub_aws_api_calls_total{service,operation,outcome}` and
 * `pubsub_aws_api_call_duration_seconds{service,operation}` in `registry`. Calling it twice with
 * the same registry reuses the metrics already registered there.
 */
export function prometheusCallObserver(registry: Registry): AwsCallObserver {
  const calls =
    (registry.getSingleMetric(AWS_CALLS_TOTAL) as Counter<'service' | 'operation' | 'outcome'> | undefined) ??
    new Counter({
      name: AWS_CALLS_TOTAL,
      help: 'AWS API calls by service, operation and outcome (success or the error name); retries are inside one call',
      labelNames: ['service', 'operation', 'outcome'],
      registers: [registry],
    });
  const durations =
    (registry.getSingleMetric(AWS_CALL_DURATION_SECONDS) as Histogram<'service' | 'operation'> | undefined) ??
    new Histogram({
      name: AWS_CALL_DURATION_SECONDS,
      help: 'Duration of AWS API calls in seconds, retries included',
      labelNames: ['service', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  return {
    observe(call) {
      calls.inc({ service: call.service, operation: call.operation, outcome: call.outcome });
      durations.observe({ service: call.service, operation: call.operation }, call.durationSeconds);
    },
  };
}

// ---- the SDK middleware -------------------------------------------------------------------

interface CallContext {
  commandName?: string;
}
interface Metadata {
  $metadata?: { attempts?: number };
}
type Handler = (args: unknown) => Promise<{ output: Metadata }>;
type CallMiddleware = (next: Handler, context: CallContext) => Handler;

/** The part of an SDK client's middleware stack this module uses; every v3 client has it. */
export interface MiddlewareStackLike {
  add(
    middleware: CallMiddleware,
    options: { step: 'initialize'; name: string; priority: 'high'; override: boolean },
  ): void;
  remove(name: string): boolean;
}

function attemptsOf(value: unknown): number {
  const attempts = (value as Metadata | undefined)?.$metadata?.attempts;
  return typeof attempts === 'number' && attempts > 0 ? attempts : 1;
}

function outcomeOf(error: unknown): string {
  if (error instanceof Error && error.name) return error.name;
  return 'UnknownError';
}

/**
 * Adds a middleware at the very start of the client's stack (so it wraps serialisation, retries
 * and deserialisation) that reports each call to `observer`. Adding it twice replaces the first.
 */
export function observeCalls(
  stack: MiddlewareStackLike,
  service: AwsService,
  observer: AwsCallObserver,
  now: () => number = () => performance.now(),
): void {
  const middleware: CallMiddleware = (next, context) => async (args) => {
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const started = now();
    const report = (outcome: string, attempts: number): void => {
      try {
        observer.observe({
          service,
          operation,
          outcome,
          attempts,
          durationSeconds: (now() - started) / 1000,
        });
      } catch {
        // Observing is best effort; it never changes the call's result.
      }
    };
    try {
      const result = await next(args);
      report('success', attemptsOf(result.output));
      return result;
    } catch (error) {
      report(outcomeOf(error), attemptsOf(error));
      throw error;
    }
  };
  stack.add(middleware, { step: 'initialize', name: 'pubsubObserveCalls', priority: 'high', override: true });
}
