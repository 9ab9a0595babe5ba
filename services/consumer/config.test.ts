import { describe, expect, it } from 'vitest';
import { CONSUMER_DEFAULTS, runtimeEnv, topicArn, topicArnEnvName } from './config.ts';

const base = { AWS_REGION: 'eu-west-1' };

describe('runtimeEnv', () => {
  it('reads what the operator injects and the service its own', () => {
    const env = runtimeEnv({
      ...base,
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
      DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:15566',
      AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:15567',
      ORDER_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_order-events',
      PAYMENT_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_payment-events.fifo',
      PORT: '9090',
      LOG_LEVEL: 'DEBUG',
      DATABASE_URL: 'postgres://u@db/x',
      CONSUMER_CONCURRENCY: '40',
      CONSUMER_RETRY_BUDGET_SECONDS: '600',
      UNRELATED: 'ignored',
    });
    expect(env).toEqual({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq',
      region: 'eu-west-1',
      endpoints: { sqs: 'http://127.0.0.1:15566', sns: 'http://127.0.0.1:15567' },
      port: 9090,
      logLevel: 'debug',
      databaseUrl: 'postgres://u@db/x',
      topicArns: {
        ORDER_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_order-events',
        PAYMENT_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_payment-events.fifo',
      },
      consumer: { ...CONSUMER_DEFAULTS, concurrency: 40, retryBudgetSeconds: 600 },
    });
    expect(topicArn(env, 'payment-events')).toMatch(/payment-events\.fifo$/);
  });

  it('defaults what is optional', () => {
    expect(runtimeEnv({ ...base, QUEUE_URL: '' })).toMatchObject({
      queueUrl: undefined,
      endpoints: { sqs: undefined, sns: undefined },
      port: 8080,
      logLevel: 'info',
      consumer: CONSUMER_DEFAULTS,
    });
    expect(CONSUMER_DEFAULTS.retryBudgetSeconds).toBeGreaterThanOrEqual(60);
  });

  it('refuses consumer tuning out of range, naming the variable', () => {
    expect(() =>
      runtimeEnv({ ...base, CONSUMER_BATCH_SIZE: '11', CONSUMER_HANDLER_TIMEOUT_SECONDS: '0' }),
    ).toThrow(/CONSUMER_BATCH_SIZE \("11"\).*CONSUMER_HANDLER_TIMEOUT_SECONDS \("0"\)/);
  });

  it('takes AWS_ENDPOINT_URL for a service without its own variable, as the AWS SDK does', () => {
    expect(
      runtimeEnv({ ...base, AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_SNS: 'http://b:2' }).endpoints,
    ).toEqual({ sqs: 'http://a:1', sns: 'http://b:2' });
  });

  it('names every bad variable in one error', () => {
    expect(() =>
      runtimeEnv({ AWS_REGION: 'nowhere', PORT: '70000', QUEUE_URL: 'not a url', X_TOPIC_ARN: 'nope' }),
    ).toThrow(/X_TOPIC_ARN \("nope"\).*AWS_REGION \("nowhere"\).*PORT \("70000"\)/);
  });

  it('says which variable is missing for a topic', () => {
    expect(() => topicArn(runtimeEnv(base), 'order-events')).toThrow(
      'ORDER_EVENTS_TOPIC_ARN is not set: list EventTopic order-events in the service',
    );
  });
});

describe('topicArnEnvName', () => {
  it('upper-cases the EventTopic name and turns - and . into _', () => {
    expect(topicArnEnvName('order-events')).toBe('ORDER_EVENTS_TOPIC_ARN');
    expect(topicArnEnvName('a.b-c')).toBe('A_B_C_TOPIC_ARN');
  });
});
