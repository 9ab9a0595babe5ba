// How the operator reaches AWS: settings read from the environment, and SDK clients built from
// them, each reporting its calls to an AwsCallObserver.
import { z } from 'zod';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { STSClient } from '@aws-sdk/client-sts';
import { KMSClient } from '@aws-sdk/client-kms';
import { observeCalls, type AwsCallObserver, type AwsService, type MiddlewareStackLike } from './calls.ts';
import { Sha256 } from './sha256.ts';

export interface AwsSettings {
  region: string;
  /** One endpoint for every service (moto, LocalStack, a VPC endpoint); AWS's own when absent. */
  endpoint?: string;
  retryMode: 'standard' | 'adaptive';
  /** Attempts per call, the first one included. */
  maxAttempts: number;
  /** Time allowed to open a connection before the attempt fails (and may be retried). */
  connectTimeoutMs: number;
  /** Time allowed for a whole attempt, so a hung endpoint cannot stall a reconcile forever. */
  requestTimeoutMs: number;
}

/** The environment variable behind each setting, for error messages and docs. */
export const AWS_SETTINGS_ENV = {
  region: 'AWS_REGION',
  endpoint: 'AWS_ENDPOINT_URL',
  retryMode: 'PUBSUB_AWS_RETRY_MODE',
  maxAttempts: 'PUBSUB_AWS_MAX_ATTEMPTS',
  connectTimeoutMs: 'PUBSUB_AWS_CONNECT_TIMEOUT_MS',
  requestTimeoutMs: 'PUBSUB_AWS_REQUEST_TIMEOUT_MS',
} as const satisfies Record<keyof AwsSettings, string>;

const blankAsUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const awsSettingsSchema = z.object({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1'),
  endpoint: z.preprocess(blankAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  retryMode: z.preprocess(blankAsUndefined, z.enum(['standard', 'adaptive']).default('standard')),
  maxAttempts: z.preprocess(blankAsUndefined, z.coerce.number().int().min(1).max(20).default(3)),
  connectTimeoutMs: z.preprocess(
    blankAsUndefined,
    z.coerce.number().int().min(100).max(60_000).default(3_000),
  ),
  requestTimeoutMs: z.preprocess(
    blankAsUndefined,
    z.coerce.number().int().min(100).max(300_000).default(30_000),
  ),
});

/**
 * Reads AwsSettings from AWS_REGION, AWS_ENDPOINT_URL, PUBSUB_AWS_RETRY_MODE (standard|adaptive,
 * default standard), PUBSUB_AWS_MAX_ATTEMPTS (default 3), PUBSUB_AWS_CONNECT_TIMEOUT_MS (default
 * 3000) and PUBSUB_AWS_REQUEST_TIMEOUT_MS (default 30000). Throws one error naming every bad variable.
 */
export function awsSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): AwsSettings {
  const raw = Object.fromEntries(
    Object.entries(AWS_SETTINGS_ENV).map(([field, variable]) => [field, env[variable]]),
  );
  const parsed = awsSettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0]) as keyof AwsSettings;
    const variable = AWS_SETTINGS_ENV[field] ?? field;
    const value = env[variable];
    const shown = value === undefined ? 'unset' : JSON.stringify(value);
    return `${variable} (${shown}): ${issue.message}`;
  });
  throw new Error(`invalid AWS settings: ${problems.join('; ')}`);
}

type Credentials = SQSClientConfig['credentials'];
type RequestHandler = SQSClientConfig['requestHandler'];

export interface ClientOptions {
  /** Receives every call; AwsCallCounter counts them, prometheusCallObserver exports them. */
  observer?: AwsCallObserver;
  /** Explicit credentials; the SDK's default chain (env, IRSA web identity, Pod Identity...) otherwise. */
  credentials?: Credentials;
  /** Replaces the HTTP handler (tests); the settings' timeouts apply only to the default one. */
  requestHandler?: RequestHandler;
}

function baseConfig(settings: AwsSettings, options: ClientOptions) {
  return {
    region: settings.region,
    retryMode: settings.retryMode,
    maxAttempts: settings.maxAttempts,
    // The middleware stack is resolved once per command type, not on every call: the observer is
    // added at creation and nothing changes the stack afterwards.
    cacheMiddleware: true,
    // Signs with the HMAC key object of the day's signing key kept, not made again for every call.
    sha256: Sha256,
    requestHandler: options.requestHandler ?? {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
    },
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
}

function observed<C extends { middlewareStack: unknown }>(
  client: C,
  service: AwsService,
  options: ClientOptions,
): C {
  // The SDK's logger middleware copies every call's input and output through their schemas for a
  // logger that, with none configured, drops them: about 7 % of the SDK's allocations, for nothing.
  // Calls are reported to the observer instead.
  const stack = client.middlewareStack as MiddlewareStackLike;
  stack.remove('loggerMiddleware');
  if (options.observer) observeCalls(stack, service, options.observer);
  return client;
}

export function createSqsClient(settings: AwsSettings, options: ClientOptions = {}): SQSClient {
  return observed(new SQSClient(baseConfig(settings, options)), 'sqs', options);
}

export function createSnsClient(settings: AwsSettings, options: ClientOptions = {}): SNSClient {
  return observed(new SNSClient(baseConfig(settings, options)), 'sns', options);
}

export function createCloudWatchClient(settings: AwsSettings, options: ClientOptions = {}): CloudWatchClient {
  return observed(new CloudWatchClient(baseConfig(settings, options)), 'cloudwatch', options);
}

export function createStsClient(settings: AwsSettings, options: ClientOptions = {}): STSClient {
  return observed(new STSClient(baseConfig(settings, options)), 'sts', options);
}

export function createKmsClient(settings: AwsSettings, options: ClientOptions = {}): KMSClient {
  return observed(new KMSClient(baseConfig(settings, options)), 'kms', options);
}

export interface AwsClients {
  sqs: SQSClient;
  sns: SNSClient;
  cloudwatch: CloudWatchClient;
  sts: STSClient;
  kms: KMSClient;
  /** Closes every client's connections. */
  destroy(): void;
}

export function createAwsClients(settings: AwsSettings, options: ClientOptions = {}): AwsClients {
  const clients = {
    sqs: createSqsClient(settings, options),
    sns: createSnsClient(settings, options),
    cloudwatch: createCloudWatchClient(settings, options),
    sts: createStsClient(settings, options),
    kms: createKmsClient(settings, options),
  };
  return {
    ...clients,
    destroy() {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
