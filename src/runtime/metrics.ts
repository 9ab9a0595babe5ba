import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueueMetrics } from './workqueue.ts';

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after' | 'terminal';

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];
const QUEUE_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];
const AWS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every metric the operator exports, on one registry that is passed around explicitly (nothing is
 * registered on prom-client's global registry). Names follow controller-runtime's, so existing
 * dashboards and alerts for Go operators work unchanged.
 */
export class Metrics {
  readonly registry: Registry;

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTerminal: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;

  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly workqueueQueueDuration: Histogram<'name'>;
  readonly workqueueWorkDuration: Histogram<'name'>;

  readonly leaderStatus: Gauge<'name'>;

  /** For the AWS layer: one count per SDK call, outcome `success` or the error name. */
  readonly awsApiCalls: Counter<'service' | 'operation' | 'outcome'>;
  readonly awsApiCallDuration: Histogram<'service' | 'operation'>;

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller and result',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTerminal = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
    this.awsApiCalls = new Counter({
      name: 'pubsub_aws_api_calls_total',
      help: 'AWS API calls made by the operator, per service, operation and outcome',
      labelNames: ['service', 'operation', 'outcome'],
      registers,
    });
    this.awsApiCallDuration = new Histogram({
      name: 'pubsub_aws_api_call_duration_seconds',
      help: 'Duration of AWS API calls made by the operator, per service and operation',
      labelNames: ['service', 'operation'],
      buckets: AWS_BUCKETS,
      registers,
    });
  }

  /** The work queue hooks for the queue called `name`. */
  workQueue(name: string): WorkQueueMetrics {
    const labels = { name };
    return {
      added: () => this.workqueueAdds.inc(labels),
      retried: () => this.workqueueRetries.inc(labels),
      depth: (n) => this.workqueueDepth.set(labels, n),
      queued: (s) => this.workqueueQueueDuration.observe(labels, s),
      worked: (s) => this.workqueueWorkDuration.observe(labels, s),
    };
  }

  /** Times `fn` as one AWS call and counts its outcome (`success`, or the error's name). */
  async observeAwsCall<T>(service: string, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = this.awsApiCallDuration.startTimer({ service, operation });
    try {
      const out = await fn();
      this.awsApiCalls.inc({ service, operation, outcome: 'success' });
      return out;
    } catch (err) {
      const outcome = err instanceof Error && err.name ? err.name : 'error';
      this.awsApiCalls.inc({ service, operation, outcome });
      throw err;
    } finally {
      end();
    }
  }
}
