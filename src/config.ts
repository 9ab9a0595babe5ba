// The operator's settings, from environment variables (the Helm chart and `make run` set them).
import { z } from 'zod';
import { awsSettingsFromEnv, type AwsSettings } from './aws/config.ts';

export interface OperatorConfig {
  /** Recorded in every AWS resource's ownership tags. */
  clusterName: string;
  /** First part of every derived physical name. */
  namePrefix: string;
  /** Namespaces to watch; empty means all. */
  watchNamespaces: string[];
  /** How often every object is reconciled again, so drift is found and repaired. */
  resyncPeriodSeconds: number;
  /** The same per kind; each defaults to resyncPeriodSeconds. */
  resyncPeriodSecondsOf: Record<ResyncKind, number>;
  /** Concurrent reconciles per controller (never two for one object). */
  maxConcurrentReconciles: number;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
  };
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one. */
  httpPort: number;
  logLevel: string;
  /** How long SIGTERM waits for in-flight reconciles. */
  shutdownGraceSeconds: number;
  aws: AwsSettings;
}

/** The kinds whose resync period can be set on its own. */
export type ResyncKind = 'EventTopic' | 'ConsumerQueue' | 'EcommerceService';

export const OPERATOR_ENV = {
  clusterName: 'PUBSUB_CLUSTER_NAME',
  namePrefix: 'PUBSUB_NAME_PREFIX',
  watchNamespaces: 'PUBSUB_WATCH_NAMESPACES',
  resyncPeriodSeconds: 'PUBSUB_RESYNC_PERIOD_SECONDS',
  eventTopicResyncPeriodSeconds: 'PUBSUB_EVENT_TOPIC_RESYNC_PERIOD_SECONDS',
  consumerQueueResyncPeriodSeconds: 'PUBSUB_CONSUMER_QUEUE_RESYNC_PERIOD_SECONDS',
  ecommerceServiceResyncPeriodSeconds: 'PUBSUB_ECOMMERCE_SERVICE_RESYNC_PERIOD_SECONDS',
  maxConcurrentReconciles: 'PUBSUB_MAX_CONCURRENT_RECONCILES',
  leaderElect: 'PUBSUB_LEADER_ELECT',
  leaderElectionNamespace: 'PUBSUB_LEADER_ELECTION_NAMESPACE',
  leaseName: 'PUBSUB_LEASE_NAME',
  leaseDurationSeconds: 'PUBSUB_LEASE_DURATION_SECONDS',
  renewDeadlineSeconds: 'PUBSUB_RENEW_DEADLINE_SECONDS',
  retryPeriodSeconds: 'PUBSUB_RETRY_PERIOD_SECONDS',
  httpPort: 'PUBSUB_HTTP_PORT',
  logLevel: 'LOG_LEVEL',
  shutdownGraceSeconds: 'PUBSUB_SHUTDOWN_GRACE_SECONDS',
} as const;

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const int = (min: number, max: number, fallback: number) =>
  z.preprocess(blank, z.coerce.number().int().min(min).max(max).default(fallback));
const optionalInt = (min: number, max: number) =>
  z.preprocess(blank, z.coerce.number().int().min(min).max(max).optional());
const bool = (fallback: boolean) =>
  z
    .preprocess(blank, z.enum(['true', 'false', '1', '0']).default(fallback ? 'true' : 'false'))
    .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  clusterName: z.preprocess(
    blank,
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_" or "-"')
      .default('default'),
  ),
  namePrefix: z.preprocess(
    blank,
    z
      .string()
      .regex(/^[A-Za-z0-9-]{1,20}$/, 'must be 1-20 letters, digits or "-"')
      .default('pubsub'),
  ),
  watchNamespaces: z.preprocess(blank, z.string().default('')).transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
  resyncPeriodSeconds: int(10, 86_400, 300),
  eventTopicResyncPeriodSeconds: optionalInt(10, 86_400),
  consumerQueueResyncPeriodSeconds: optionalInt(10, 86_400),
  ecommerceServiceResyncPeriodSeconds: optionalInt(10, 86_400),
  maxConcurrentReconciles: int(1, 64, 4),
  leaderElect: bool(true),
  leaderElectionNamespace: z.preprocess(blank, z.string().optional()),
  leaseName: z.preprocess(blank, z.string().default('pubsub-operator')),
  leaseDurationSeconds: int(2, 600, 15),
  renewDeadlineSeconds: int(1, 600, 10),
  retryPeriodSeconds: int(1, 60, 2),
  httpPort: int(0, 65_535, 8080),
  logLevel: z.preprocess(blank, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info')),
  shutdownGraceSeconds: int(1, 600, 25),
});

/** The namespace the operator runs in, when it runs in a pod. */
function podNamespace(readFile: (path: string) => string | undefined): string | undefined {
  return readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace')?.trim() || undefined;
}

export function configFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string | undefined = () => undefined,
): OperatorConfig {
  const raw = Object.fromEntries(
    Object.entries(OPERATOR_ENV).map(([field, variable]) => [field, env[variable]]),
  );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable =
        OPERATOR_ENV[String(issue.path[0]) as keyof typeof OPERATOR_ENV] ?? String(issue.path[0]);
      return `${variable} (${JSON.stringify(env[variable] ?? null)}): ${issue.message}`;
    });
    throw new Error(`invalid operator settings: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.renewDeadlineSeconds >= c.leaseDurationSeconds) {
    throw new Error(
      `${OPERATOR_ENV.renewDeadlineSeconds} must be shorter than ${OPERATOR_ENV.leaseDurationSeconds}`,
    );
  }
  return {
    clusterName: c.clusterName,
    namePrefix: c.namePrefix,
    watchNamespaces: c.watchNamespaces,
    resyncPeriodSeconds: c.resyncPeriodSeconds,
    resyncPeriodSecondsOf: {
      EventTopic: c.eventTopicResyncPeriodSeconds ?? c.resyncPeriodSeconds,
      ConsumerQueue: c.consumerQueueResyncPeriodSeconds ?? c.resyncPeriodSeconds,
      EcommerceService: c.ecommerceServiceResyncPeriodSeconds ?? c.resyncPeriodSeconds,
    },
    maxConcurrentReconciles: c.maxConcurrentReconciles,
    leaderElection: {
      enabled: c.leaderElect,
      namespace: c.leaderElectionNamespace ?? podNamespace(readFile) ?? 'default',
      leaseName: c.leaseName,
      leaseDurationSeconds: c.leaseDurationSeconds,
      renewDeadlineSeconds: c.renewDeadlineSeconds,
      retryPeriodSeconds: c.retryPeriodSeconds,
    },
    httpPort: c.httpPort,
    logLevel: c.logLevel,
    shutdownGraceSeconds: c.shutdownGraceSeconds,
    aws: awsSettingsFromEnv(env),
  };
}
