// The operator's AWS clients through the fault proxy in front of moto: they retry through
// throttling, 5xx and resets and then succeed (the counts say how many attempts it took), give
// up after maxAttempts with a retryable AwsError, and report a down endpoint as retryable.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsCallCounter,
  AwsError,
  createAwsGateways,
  ownershipTags,
  queueName,
  topicName,
  type AwsGateways,
  type AwsSettings,
} from '../../src/aws/index.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { awsClientConfig, uniqueName } from './support/bed.ts';

const bed = awsClientConfig();
const namespace = uniqueName('aws-faults');
const owner = { cluster: 'it', namespace, name: 'faults', uid: 'uid-faults' };
const counter = new AwsCallCounter();
let proxy: FaultProxy;
let aws: AwsGateways;
const created = { topics: [] as string[], queues: [] as string[] };

beforeAll(async () => {
  proxy = await FaultProxy.start(bed.endpoint);
  const settings: AwsSettings = {
    region: bed.region,
    endpoint: proxy.endpoint,
    retryMode: 'standard',
    maxAttempts: 3,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 10_000,
  };
  aws = createAwsGateways(settings, { observer: counter, credentials: bed.credentials });
  // Learn the account id now, so the STS call does not count against the first test.
  await aws.account.accountId();
  counter.reset();
  proxy.resetCounts();
});
afterEach(async () => {
  await proxy.up();
  proxy.clearFaults();
  proxy.resetCounts();
  counter.reset();
});
afterAll(async () => {
  for (const url of created.queues) await aws.queues.deleteQueue(url);
  for (const arn of created.topics) await aws.topics.deleteTopic(arn);
  aws.clients.destroy();
  await proxy.stop();
});

async function failure(promise: Promise<unknown>): Promise<AwsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AwsError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('AWS calls through injected faults', () => {
  it('retries SQS through two throttles and succeeds on the third attempt', async () => {
    proxy.inject({ service: 'sqs', operation: 'CreateQueue', fault: { kind: 'throttle' }, times: 2 });
    const name = queueName({ prefix: 'it', namespace, name: 'throttled', fifo: false });
    const { url } = await aws.queues.createQueue(name, { VisibilityTimeout: 30 }, ownershipTags(owner));
    created.queues.push(url);

    expect(proxy.count('CreateQueue', 'sqs')).toBe(3);
    expect(proxy.faultsServed()).toBe(2);
    expect(counter.calls).toMatchObject([
      { service: 'sqs', operation: 'CreateQueue', outcome: 'success', attempts: 3 },
    ]);
    expect(await aws.queues.readQueue(name)).toMatchObject({ url });
  });

  it('retries SNS through two 5xx answers and succeeds on the third attempt', async () => {
    proxy.inject({
      service: 'sns',
      operation: 'CreateTopic',
      fault: { kind: 'server-error', status: 503 },
      times: 1,
    });
    proxy.inject({
      service: 'sns',
      operation: 'CreateTopic',
      fault: { kind: 'server-error', status: 500 },
      times: 1,
    });
    const name = topicName({ prefix: 'it', namespace, name: 'flaky', fifo: false });
    const arn = await aws.topics.createTopic(name, {}, ownershipTags(owner));
    created.topics.push(arn);

    expect(proxy.count('CreateTopic', 'sns')).toBe(3);
    expect(counter.attempts({ operation: 'CreateTopic' })).toBe(3);
    expect(counter.count({ operation: 'CreateTopic' })).toBe(1);
  });

  it('retries through a connection reset', async () => {
    proxy.inject({ operation: 'GetQueueUrl', fault: { kind: 'reset' }, times: 1 });
    expect(
      await aws.queues.readQueue(queueName({ prefix: 'it', namespace, name: 'absent', fifo: false })),
    ).toBeUndefined();
    expect(proxy.count('GetQueueUrl')).toBe(2);
    expect(counter.calls).toMatchObject([
      { operation: 'GetQueueUrl', outcome: 'QueueDoesNotExist', attempts: 2 },
    ]);
  });

  it('gives up after maxAttempts with a retryable, throttling AwsError', async () => {
    proxy.inject({ service: 'sns', fault: { kind: 'throttle' } });
    const error = await failure(
      aws.topics.readTopic(topicName({ prefix: 'it', namespace, name: 'x', fifo: false })),
    );
    expect(error).toMatchObject({
      kind: 'retryable',
      code: 'Throttling',
      service: 'sns',
      operation: 'GetTopicAttributes',
    });
    expect(error.classification).toMatchObject({ throttling: true });
    expect(proxy.count('GetTopicAttributes')).toBe(3);
    expect(counter.calls).toMatchObject([
      { operation: 'GetTopicAttributes', outcome: 'Throttling', attempts: 3 },
    ]);
  });

  it('reports an endpoint that is down as retryable, and works again once it is back', async () => {
    const name = queueName({ prefix: 'it', namespace, name: 'down', fifo: false });
    await proxy.down();
    const error = await failure(aws.queues.readQueue(name));
    expect(error.kind).toBe('retryable');
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(error.code);
    expect(proxy.count()).toBe(0);
    expect(counter.calls).toMatchObject([{ operation: 'GetQueueUrl', attempts: 3 }]);

    await proxy.up();
    expect(await aws.queues.readQueue(name)).toBeUndefined();
  });
});
