import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { GetQueueUrlCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { AwsCallCounter, combineObservers, prometheusCallObserver, type AwsCall } from './calls.ts';
import {
  awsSettingsFromEnv,
  createAwsClients,
  createSqsClient,
  type AwsSettings,
  type ClientOptions,
} from './config.ts';

describe('awsSettingsFromEnv', () => {
  it('applies the defaults', () => {
    expect(awsSettingsFromEnv({ AWS_REGION: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      retryMode: 'standard',
      maxAttempts: 3,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 30000,
    });
  });

  it('reads every variable', () => {
    expect(
      awsSettingsFromEnv({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:15566',
        PUBSUB_AWS_RETRY_MODE: 'adaptive',
        PUBSUB_AWS_MAX_ATTEMPTS: '5',
        PUBSUB_AWS_CONNECT_TIMEOUT_MS: '1000',
        PUBSUB_AWS_REQUEST_TIMEOUT_MS: '2000',
      }),
    ).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:15566',
      retryMode: 'adaptive',
      maxAttempts: 5,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 2000,
    });
  });

  it('treats empty variables as unset', () => {
    expect(
      awsSettingsFromEnv({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: '', PUBSUB_AWS_MAX_ATTEMPTS: ' ' }),
    ).toMatchObject({
      maxAttempts: 3,
      endpoint: undefined,
    });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a missing region', {}, /AWS_REGION \(unset\)/],
    ['a malformed region', { AWS_REGION: 'europe' }, /AWS_REGION \("europe"\): must be an AWS region/],
    [
      'an endpoint that is not a URL',
      { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'localhost' },
      /AWS_ENDPOINT_URL/,
    ],
    [
      'an unknown retry mode',
      { AWS_REGION: 'us-east-1', PUBSUB_AWS_RETRY_MODE: 'legacy' },
      /PUBSUB_AWS_RETRY_MODE/,
    ],
    [
      'zero attempts',
      { AWS_REGION: 'us-east-1', PUBSUB_AWS_MAX_ATTEMPTS: '0' },
      /PUBSUB_AWS_MAX_ATTEMPTS \("0"\)/,
    ],
    [
      'a fractional attempt count',
      { AWS_REGION: 'us-east-1', PUBSUB_AWS_MAX_ATTEMPTS: '2.5' },
      /PUBSUB_AWS_MAX_ATTEMPTS/,
    ],
  ])('refuses %s, naming the variable', (_what, env, message) => {
    expect(() => awsSettingsFromEnv(env)).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => awsSettingsFromEnv({ PUBSUB_AWS_RETRY_MODE: 'x' })).toThrow(
      /AWS_REGION.*PUBSUB_AWS_RETRY_MODE/,
    );
  });
});

// ---- clients against a canned HTTP handler ------------------------------------------------

interface Canned {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** An SDK request handler that never touches the network and answers with `replies` in order. */
function cannedHandler(replies: Canned[]) {
  const seen: { target: string | undefined }[] = [];
  const handler = {
    handle(request: { headers: Record<string, string> }) {
      seen.push({ target: request.headers['x-amz-target'] });
      // The last reply repeats for every request after it.
      const reply = (replies.length > 1 ? replies.shift() : replies[0]) ?? { status: 500, body: '' };
      return Promise.resolve({
        response: {
          statusCode: reply.status,
          headers: { 'content-type': 'application/x-amz-json-1.0', ...reply.headers },
          body: Readable.from([Buffer.from(reply.body)]),
        },
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return { seen, handler: handler as unknown as ClientOptions['requestHandler'] };
}

const settings: AwsSettings = {
  region: 'us-east-1',
  endpoint: 'http://aws.invalid',
  retryMode: 'standard',
  maxAttempts: 3,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const json = (value: unknown) => JSON.stringify(value);
const serverError: Canned = {
  status: 500,
  headers: { 'x-amzn-query-error': 'InternalError;Receiver' },
  body: json({ __type: 'com.amazonaws.sqs#InternalError', message: 'boom' }),
};

describe('client factories', () => {
  it('report each call with its service, operation, outcome, duration and attempts', async () => {
    const counter = new AwsCallCounter();
    const { handler } = cannedHandler([
      { status: 200, body: json({ QueueUrl: 'http://aws.invalid/1/q' }) },
      {
        status: 400,
        headers: { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' },
        body: json({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'no queue' }),
      },
    ]);
    const sqs = createSqsClient(settings, { observer: counter, credentials, requestHandler: handler });

    await sqs.send(new GetQueueUrlCommand({ QueueName: 'q' }));
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });

    expect(counter.calls.map(({ durationSeconds: _, ...call }) => call)).toEqual([
      { service: 'sqs', operation: 'GetQueueUrl', outcome: 'success', attempts: 1 },
      { service: 'sqs', operation: 'GetQueueUrl', outcome: 'QueueDoesNotExist', attempts: 1 },
    ]);
    for (const call of counter.calls) expect(call.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(counter.count()).toBe(2);
    expect(counter.count({ outcome: 'success' })).toBe(1);
    expect(counter.byOperation()).toEqual({ 'sqs:GetQueueUrl': 2 });
    counter.reset();
    expect(counter.count()).toBe(0);
  });

  it('count a call retried by the SDK once, with every attempt', async () => {
    const counter = new AwsCallCounter();
    const { seen, handler } = cannedHandler([serverError, { status: 200, body: json({ QueueUrls: [] }) }]);
    const sqs = createSqsClient(settings, { observer: counter, credentials, requestHandler: handler });

    await sqs.send(new ListQueuesCommand({}));

    expect(seen.map((s) => s.target)).toEqual(['AmazonSQS.ListQueues', 'AmazonSQS.ListQueues']);
    expect(counter.count()).toBe(1);
    expect(counter.attempts()).toBe(2);
    expect(counter.calls[0]?.outcome).toBe('success');
  });

  it('stop after maxAttempts and report the last error', async () => {
    const counter = new AwsCallCounter();
    const { seen, handler } = cannedHandler([serverError]);
    const sqs = createSqsClient(
      { ...settings, maxAttempts: 2 },
      { observer: counter, credentials, requestHandler: handler },
    );

    await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'InternalError' });
    expect(seen).toHaveLength(2);
    expect(counter.calls).toMatchObject([{ operation: 'ListQueues', outcome: 'InternalError', attempts: 2 }]);
  });

  it('build all four clients with one observer', async () => {
    const calls: AwsCall[] = [];
    const { handler } = cannedHandler([{ status: 500, body: '' }]);
    const clients = createAwsClients(
      { ...settings, maxAttempts: 1 },
      {
        observer: { observe: (call) => calls.push(call) },
        credentials,
        requestHandler: handler,
      },
    );
    await Promise.allSettled([
      clients.sqs.send(new ListQueuesCommand({})),
      clients.sns.send(new ListTopicsCommand({})),
      clients.sts.send(new GetCallerIdentityCommand({})),
    ]);
    clients.destroy();
    expect(calls.map((c) => `${c.service}:${c.operation}`).sort()).toEqual([
      'sns:ListTopics',
      'sqs:ListQueues',
      'sts:GetCallerIdentity',
    ]);
  });

  it('leave out the logger middleware, which would only copy calls for a logger that drops them', () => {
    const clients = createAwsClients(settings, { credentials });
    for (const client of [clients.sqs, clients.sns, clients.cloudwatch, clients.sts, clients.kms]) {
      const names = client.middlewareStack.identify().join(' ');
      expect(names).not.toMatch(/loggerMiddleware/);
      expect(names).toMatch(/retryMiddleware/);
    }
    clients.destroy();
  });

  it('never let a failing observer fail the call', async () => {
    const counter = new AwsCallCounter();
    const broken = {
      observe() {
        throw new Error('observer bug');
      },
    };
    const { handler } = cannedHandler([{ status: 200, body: json({ QueueUrls: [] }) }]);
    const sqs = createSqsClient(settings, {
      observer: combineObservers(broken, counter),
      credentials,
      requestHandler: handler,
    });
    await expect(sqs.send(new ListQueuesCommand({}))).resolves.toBeDefined();
    const alone = createSqsClient(settings, { observer: broken, credentials, requestHandler: handler });
    await expect(alone.send(new ListQueuesCommand({}))).resolves.toBeDefined();
    expect(counter.count()).toBe(1);
  });
});

describe('prometheusCallObserver', () => {
  it('feeds the call counter and the duration histogram', async () => {
    const registry = new Registry();
    const observer = prometheusCallObserver(registry);
    observer.observe({
      service: 'sqs',
      operation: 'CreateQueue',
      outcome: 'success',
      durationSeconds: 0.02,
      attempts: 1,
    });
    observer.observe({
      service: 'sqs',
      operation: 'CreateQueue',
      outcome: 'QueueDeletedRecently',
      durationSeconds: 0.03,
      attempts: 1,
    });
    // A second adapter on the same registry shares the metrics instead of failing to register.
    prometheusCallObserver(registry).observe({
      service: 'sns',
      operation: 'Subscribe',
      outcome: 'success',
      durationSeconds: 3,
      attempts: 2,
    });

    const text = await registry.metrics();
    expect(text).toContain(
      'pubsub_aws_api_calls_total{service="sqs",operation="CreateQueue",outcome="success"} 1',
    );
    expect(text).toContain(
      'pubsub_aws_api_calls_total{service="sqs",operation="CreateQueue",outcome="QueueDeletedRecently"} 1',
    );
    expect(text).toContain(
      'pubsub_aws_api_calls_total{service="sns",operation="Subscribe",outcome="success"} 1',
    );
    expect(text).toContain(
      'pubsub_aws_api_call_duration_seconds_count{service="sqs",operation="CreateQueue"} 2',
    );
    expect(text).toContain(
      'pubsub_aws_api_call_duration_seconds_bucket{le="5",service="sns",operation="Subscribe"} 1',
    );
  });
});
