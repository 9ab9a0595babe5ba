// The fault proxy against a tiny local stand-in for AWS: it forwards and counts, and each fault
// reaches the SDK as the error (or socket failure) the real service would produce.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import type { SNSClient } from '@aws-sdk/client-sns';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { FaultProxy } from './fault-proxy.ts';
import {
  AwsCallCounter,
  classify,
  createSnsClient,
  createSqsClient,
  type AwsSettings,
} from '../../src/aws/index.ts';

const listTopicsXml =
  '<ListTopicsResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics/>' +
  '</ListTopicsResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListTopicsResponse>';

/** Answers SQS (JSON) and SNS (query) list calls, and remembers what reached it. */
function fakeAws(): Promise<{
  server: Server;
  url: string;
  seen: { path?: string; target?: string; host?: string }[];
}> {
  const seen: { path?: string; target?: string; host?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      seen.push({
        path: req.url,
        target: typeof target === 'string' ? target : undefined,
        host: req.headers.host,
      });
      if (typeof target === 'string') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ QueueUrls: ['http://x/1/q'] }));
      } else {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(listTopicsXml);
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}`, seen });
    }),
  );
}

let upstream: Awaited<ReturnType<typeof fakeAws>>;
let proxy: FaultProxy;

const settings = (maxAttempts: number): AwsSettings => ({
  region: 'us-east-1',
  endpoint: proxy.endpoint,
  retryMode: 'standard',
  maxAttempts,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 5000,
});
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const clients: (SQSClient | SNSClient)[] = [];
function sqs(maxAttempts: number, counter?: AwsCallCounter): SQSClient {
  const client = createSqsClient(settings(maxAttempts), {
    credentials,
    ...(counter ? { observer: counter } : {}),
  });
  clients.push(client);
  return client;
}
function sns(maxAttempts: number): SNSClient {
  const client = createSnsClient(settings(maxAttempts), { credentials });
  clients.push(client);
  return client;
}
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  upstream = await fakeAws();
  proxy = await FaultProxy.start(upstream.url);
});
afterEach(async () => {
  await proxy.up();
  proxy.clearFaults();
  proxy.resetCounts();
  upstream.seen.length = 0;
  for (const client of clients.splice(0)) client.destroy();
});
afterAll(async () => {
  await proxy.stop();
  await new Promise((resolve) => upstream.server.close(resolve));
});

describe('FaultProxy', () => {
  it('forwards requests untouched and counts them per service and operation', async () => {
    const out = await sqs(1).send(new ListQueuesCommand({}));
    expect(out.QueueUrls).toEqual(['http://x/1/q']);
    await sns(1).send(new ListTopicsCommand({}));
    expect(upstream.seen).toEqual([
      { path: '/', target: 'AmazonSQS.ListQueues', host: `127.0.0.1:${proxy.port}` },
      { path: '/', target: undefined, host: `127.0.0.1:${proxy.port}` },
    ]);
    expect(proxy.counts()).toEqual({ 'sqs:ListQueues': 1, 'sns:ListTopics': 1 });
    expect(proxy.faultsServed()).toBe(0);
  });

  it('throttles SQS in the JSON protocol the SDK reads as ThrottlingException', async () => {
    proxy.inject({ service: 'sqs', fault: { kind: 'throttle' } });
    const error = await failure(sqs(1).send(new ListQueuesCommand({})));
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(classify(error)).toMatchObject({ kind: 'retryable', throttling: true });
    expect(upstream.seen).toEqual([]);
  });

  it('throttles SNS in the query protocol the SDK reads as Throttling', async () => {
    proxy.inject({ operation: 'ListTopics', fault: { kind: 'throttle' } });
    const error = await failure(sns(1).send(new ListTopicsCommand({})));
    expect(error).toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    expect(classify(error)).toMatchObject({ kind: 'retryable', throttling: true });
  });

  it.each([
    ['sqs', 500, 'InternalFailure'],
    ['sqs', 503, 'ServiceUnavailable'],
    ['sns', 500, 'InternalFailure'],
    ['sns', 503, 'ServiceUnavailable'],
  ] as const)('answers %s with a %d the SDK reads as %s', async (service, status, name) => {
    proxy.inject({ service, fault: { kind: 'server-error', status } });
    const call =
      service === 'sqs' ? sqs(1).send(new ListQueuesCommand({})) : sns(1).send(new ListTopicsCommand({}));
    const error = await failure(call);
    expect(error).toMatchObject({ name, $metadata: { httpStatusCode: status } });
    expect(classify(error).kind).toBe('retryable');
  });

  it('resets the connection', async () => {
    proxy.inject({ fault: { kind: 'reset' } });
    const error = await failure(sqs(1).send(new ListQueuesCommand({})));
    expect(classify(error)).toMatchObject({ kind: 'retryable', code: 'ECONNRESET' });
    expect(proxy.count('ListQueues')).toBe(1);
  });

  it('applies a rule only to its operation and only as many times as asked', async () => {
    const counter = new AwsCallCounter();
    proxy.inject({ operation: 'GetQueueUrl', fault: { kind: 'throttle' } });
    proxy.inject({ operation: 'ListQueues', fault: { kind: 'server-error' }, times: 2 });
    await sqs(3, counter).send(new ListQueuesCommand({}));
    expect(proxy.count('ListQueues', 'sqs')).toBe(3);
    expect(proxy.faultsServed()).toBe(2);
    expect(upstream.seen).toHaveLength(1);
    expect(counter.calls).toMatchObject([{ operation: 'ListQueues', outcome: 'success', attempts: 3 }]);
  });

  it('refuses every connection while down, and serves again once up', async () => {
    const pooled = sqs(1);
    await pooled.send(new ListQueuesCommand({}));
    await proxy.down();
    expect(classify(await failure(pooled.send(new ListQueuesCommand({}))))).toMatchObject({
      kind: 'retryable',
    });
    const error = await failure(sqs(2).send(new ListQueuesCommand({})));
    expect(classify(error)).toMatchObject({ kind: 'retryable', code: 'ECONNREFUSED' });
    expect(error).toMatchObject({ $metadata: { attempts: 2 } });
    await proxy.up();
    await expect(pooled.send(new ListQueuesCommand({}))).resolves.toBeDefined();
    expect(proxy.count()).toBe(2);
  });
});
