// What a service reads from its environment: what the operator injects for its EcommerceService
// (QUEUE_URL, DEAD_LETTER_QUEUE_URL, <TOPIC>_TOPIC_ARN, AWS_REGION, and AWS_ENDPOINT_URL_SQS and
// AWS_ENDPOINT_URL_SNS when it has an endpoint override) and its own PORT, DATABASE_URL and
// LOG_LEVEL, and the consumer's tuning (CONSUMER_*). One error names every bad variable.
import { z } from 'zod';
import { LOG_LEVELS } from './logger.ts';

export interface RuntimeEnv {
  /** The consumed queue; absent for a service that consumes none. */
  queueUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  region: string;
  /**
   * Endpoints of SQS and SNS (moto, LocalStack, a VPC endpoint); AWS's own when absent. As the AWS
   * SDK reads them: AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_SNS, else AWS_ENDPOINT_URL.
   */
  endpoints: { sqs: string | undefined; sns: string | undefined };
  /** HTTP port of the API, health, readiness and metrics; 0 picks a free one. */
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  databaseUrl: string | undefined;
  /** Environment variable → ARN, for every <TOPIC>_TOPIC_ARN set. */
  topicArns: Readonly<Record<string, string>>;
  consumer: ConsumerEnv;
}

/** The consumer's tuning, from the CONSUMER_* variables (EcommerceService spec.consumer sets them). */
export interface ConsumerEnv {
  /** CONSUMER_CONCURRENCY: messages held at once. */
  concurrency: number;
  /** CONSUMER_BATCH_SIZE: messages asked for per receive, 1-10. */
  batchSize: number;
  /** CONSUMER_WAIT_TIME_SECONDS: long-poll wait, 0-20. */
  waitTimeSeconds: number;
  /** CONSUMER_RETRY_BUDGET_SECONDS: how long a failing message is retried, kept invisible, before SQS counts a failed receive. */
  retryBudgetSeconds: number;
  /** CONSUMER_HANDLER_TIMEOUT_SECONDS: one handler attempt is aborted and counted failed after this. */
  handlerTimeoutSeconds: number;
  /** CONSUMER_SDK_TIMEOUT_SECONDS: one SQS or SNS call is abandoned after this (a receive after this plus its wait). */
  sdkTimeoutSeconds: number;
}

/** Defaults of the CONSUMER_* variables. */
export const CONSUMER_DEFAULTS: ConsumerEnv = {
  concurrency: 10,
  batchSize: 10,
  waitTimeSeconds: 20,
  retryBudgetSeconds: 300,
  handlerTimeoutSeconds: 60,
  sdkTimeoutSeconds: 10,
};

const TOPIC_ARN_SUFFIX = '_TOPIC_ARN';
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalUrl = z.preprocess(blank, z.url({ protocol: /^https?$/ }).optional());

const tuning = (min: number, max: number, fallback: number) =>
  z.preprocess(blank, z.coerce.number().int().min(min).max(max).default(fallback));

const schema = z.object({
  CONSUMER_CONCURRENCY: tuning(1, 1000, CONSUMER_DEFAULTS.concurrency),
  CONSUMER_BATCH_SIZE: tuning(1, 10, CONSUMER_DEFAULTS.batchSize),
  CONSUMER_WAIT_TIME_SECONDS: tuning(0, 20, CONSUMER_DEFAULTS.waitTimeSeconds),
  CONSUMER_RETRY_BUDGET_SECONDS: tuning(0, 43_200, CONSUMER_DEFAULTS.retryBudgetSeconds),
  CONSUMER_HANDLER_TIMEOUT_SECONDS: tuning(1, 43_200, CONSUMER_DEFAULTS.handlerTimeoutSeconds),
  CONSUMER_SDK_TIMEOUT_SECONDS: tuning(1, 300, CONSUMER_DEFAULTS.sdkTimeoutSeconds),
  QUEUE_URL: optionalUrl,
  DEAD_LETTER_QUEUE_URL: optionalUrl,
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1'),
  AWS_ENDPOINT_URL: optionalUrl,
  AWS_ENDPOINT_URL_SQS: optionalUrl,
  AWS_ENDPOINT_URL_SNS: optionalUrl,
  PORT: z.preprocess(blank, z.coerce.number().int().min(0).max(65535).default(8080)),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof blank(v) === 'string' ? (v as string).toLowerCase() : undefined),
    z.enum(LOG_LEVELS).default('info'),
  ),
  DATABASE_URL: z.preprocess(
    blank,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
  ),
});

/** The name of the variable that carries a topic's ARN: order-events → ORDER_EVENTS_TOPIC_ARN. */
export const topicArnEnvName = (topic: string): string =>
  topic.toUpperCase().replace(/[-.]/g, '_') + TOPIC_ARN_SUFFIX;

export function runtimeEnv(env: Readonly<Record<string, string | undefined>> = process.env): RuntimeEnv {
  const parsed = schema.safeParse(env);
  const topicArns: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith(TOPIC_ARN_SUFFIX) || value === undefined) continue;
    if (/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(value)) topicArns[name] = value;
    else problems.push(`${name} (${JSON.stringify(value)}): must be an SNS topic ARN`);
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const value = env[name];
      problems.push(`${name} (${value === undefined ? 'unset' : JSON.stringify(value)}): ${issue.message}`);
    }
  }
  if (!parsed.success || problems.length > 0) throw new Error(`invalid environment: ${problems.join('; ')}`);
  const e = parsed.data;
  return {
    queueUrl: e.QUEUE_URL,
    deadLetterQueueUrl: e.DEAD_LETTER_QUEUE_URL,
    region: e.AWS_REGION,
    endpoints: {
      sqs: e.AWS_ENDPOINT_URL_SQS ?? e.AWS_ENDPOINT_URL,
      sns: e.AWS_ENDPOINT_URL_SNS ?? e.AWS_ENDPOINT_URL,
    },
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    topicArns,
    consumer: {
      concurrency: e.CONSUMER_CONCURRENCY,
      batchSize: e.CONSUMER_BATCH_SIZE,
      waitTimeSeconds: e.CONSUMER_WAIT_TIME_SECONDS,
      retryBudgetSeconds: e.CONSUMER_RETRY_BUDGET_SECONDS,
      handlerTimeoutSeconds: e.CONSUMER_HANDLER_TIMEOUT_SECONDS,
      sdkTimeoutSeconds: e.CONSUMER_SDK_TIMEOUT_SECONDS,
    },
  };
}

/** The ARN of a published topic, by the EventTopic's name; throws naming the missing variable. */
export function topicArn(env: RuntimeEnv, topic: string): string {
  const name = topicArnEnvName(topic);
  const arn = env.topicArns[name];
  if (!arn) throw new Error(`${name} is not set: list EventTopic ${topic} in the service's spec.publishes`);
  return arn;
}
