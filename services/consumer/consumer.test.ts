import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Consumer, type ConsumerOptions, type MessageHandler } from './consumer.ts';
import { PoisonMessageError } from './errors.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';
import { consumerMetrics } from './metrics.ts';
import { MemoryQueue } from './testing.ts';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const consumers: Consumer[] = [];

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

function consume(queue: MemoryQueue, handler: MessageHandler, options: Partial<ConsumerOptions> = {}) {
  const registry = new Registry();
  const consumer = new Consumer({
    queue,
    handler,
    logger: silent,
    metrics: consumerMetrics(registry),
    backoff: { baseSeconds: 0, maxSeconds: 0 },
    ...options,
  });
  consumers.push(consumer);
  return { consumer, registry };
}

const metric = async (registry: Registry, name: string, labels: Record<string, string>) => {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
};

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop(1_000)));
});

describe('Consumer', () => {
  it('handles every message once with at most `concurrency` at a time, deleting in batches', async () => {
    const queue = new MemoryQueue();
    for (let i = 0; i < 25; i++) queue.send(`m${i}`);
    const seen: string[] = [];
    let running = 0;
    let peak = 0;
    const { consumer, registry } = consume(
      queue,
      async (message) => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(10);
        seen.push(message.body);
        running -= 1;
      },
      { concurrency: 5 },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    expect(seen.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`).sort());
    expect(peak).toBeLessThanOrEqual(5);
    expect(Math.max(...queue.deleteCalls)).toBeLessThanOrEqual(10);
    expect(queue.deleteCalls.reduce((a, b) => a + b, 0)).toBe(25);
    expect(await metric(registry, 'consumer_messages_received_total', {})).toBe(25);
    expect(await metric(registry, 'consumer_messages_processed_total', { outcome: 'handled' })).toBe(25);
    expect(await metric(registry, 'consumer_messages_in_flight', {})).toBe(0);
    const handler = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'consumer_handler_duration_seconds',
    );
    const counts = (handler?.values ?? []) as { value: number; metricName?: string }[];
    expect(counts.find((v) => v.metricName === 'consumer_handler_duration_seconds_count')?.value).toBe(25);
  });

  it('backs off a failing message exponentially with jitter, then leaves it to the redrive', async () => {
    let now = 0;
    const queue = new MemoryQueue({ maxReceiveCount: 3, now: () => now });
    const bad = queue.send('bad');
    queue.send('good');
    const handled: string[] = [];
    const { consumer, registry } = consume(
      queue,
      (message) => {
        if (message.body === 'bad') return Promise.reject(new Error('downstream is down'));
        handled.push(message.body);
        return Promise.resolve();
      },
      { backoff: { baseSeconds: 4, maxSeconds: 300 }, random: () => 0.5 },
    );
    await consumer.start();
    const changes = () => queue.visibilityChanges.filter((c) => c.messageId === bad).map((c) => c.seconds);
    await until(() => changes().length === 1);
    expect(handled).toEqual(['good']);
    now += 10_000;
    await until(() => changes().length === 2);
    now += 10_000;
    await until(() => changes().length === 3);
    // Receives 1 and 2 wait between half and all of 4·2^(n-1) s; the third failure is the last
    // try (maxReceiveCount 3), so it is made visible at once for SQS to dead-letter.
    expect(changes()).toEqual([3, 6, 0]);
    await until(() => queue.deadLetters.length === 1);
    expect(queue.deadLetters[0]).toMatchObject({ body: 'bad', receiveCount: 3 });
    expect(await metric(registry, 'consumer_messages_failed_total', { reason: 'error' })).toBe(3);
    expect(await metric(registry, 'consumer_messages_retried_total', {})).toBe(2);
    expect(await metric(registry, 'consumer_messages_dead_lettered_total', {})).toBe(1);
  });

  it('sends poison to the dead-letter queue without backoff, blocking nothing else', async () => {
    const queue = new MemoryQueue({ maxReceiveCount: 3 });
    queue.send('poison');
    for (let i = 0; i < 5; i++) queue.send(`ok${i}`);
    let attempts = 0;
    const handled: string[] = [];
    const { consumer, registry } = consume(
      queue,
      (message) => {
        if (message.body !== 'poison') {
          handled.push(message.body);
          return Promise.resolve();
        }
        attempts += 1;
        return Promise.reject(new PoisonMessageError('not JSON'));
      },
      { backoff: { baseSeconds: 60, maxSeconds: 60 } },
    );
    await consumer.start();
    await until(() => queue.deadLetters.length === 1 && handled.length === 5);
    expect(attempts).toBe(3);
    expect(queue.visibilityChanges.map((c) => c.seconds)).toEqual([0, 0, 0]);
    expect(await metric(registry, 'consumer_messages_failed_total', { reason: 'poison' })).toBe(3);
    expect(await metric(registry, 'consumer_messages_retried_total', {})).toBe(2);
    expect(await metric(registry, 'consumer_messages_dead_lettered_total', {})).toBe(1);
  });

  it('runs a FIFO group in order and releases the rest of it behind a failure', async () => {
    const queue = new MemoryQueue({ fifo: true, maxReceiveCount: 5 });
    for (const body of ['a1', 'a2', 'a3']) queue.send(body, { groupId: 'a' });
    for (const body of ['b1', 'b2']) queue.send(body, { groupId: 'b' });
    const order: string[] = [];
    let failedOnce = false;
    const { consumer, registry } = consume(queue, async (message) => {
      order.push(message.body);
      await sleep(message.body.startsWith('a') ? 5 : 1);
      if (message.body === 'a2' && !failedOnce) {
        failedOnce = true;
        throw new Error('first try fails');
      }
    });
    await consumer.start();
    await until(() => queue.size === 0);
    const group = (g: string) => order.filter((b) => b.startsWith(g));
    expect(group('a')).toEqual(['a1', 'a2', 'a2', 'a3']);
    expect(group('b')).toEqual(['b1', 'b2']);
    expect(await metric(registry, 'consumer_messages_released_total', { reason: 'fifo_order' })).toBe(1);
  });

  it('skips a message whose idempotency key was handled before', async () => {
    const queue = new MemoryQueue();
    queue.send('{"n":1}', { attributes: { eventId: 'e-1', eventType: 'Thing' } });
    queue.send('{"n":1}', { attributes: { eventId: 'e-1', eventType: 'Thing' } });
    queue.send('{"n":2}', { attributes: { eventId: 'e-2', eventType: 'Thing' } });
    const handled: string[] = [];
    const { consumer, registry } = consume(
      queue,
      (message) => {
        handled.push(message.idempotencyKey);
        return Promise.resolve();
      },
      { idempotency: new MemoryIdempotencyStore(), concurrency: 1 },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    expect(handled).toEqual(['e-1', 'e-2']);
    expect(await metric(registry, 'consumer_messages_processed_total', { outcome: 'duplicate' })).toBe(1);
  });

  it('keeps long work invisible with a visibility heartbeat', async () => {
    const queue = new MemoryQueue({ visibilityTimeoutSeconds: 0.3 });
    queue.send('slow');
    let calls = 0;
    const { consumer } = consume(
      queue,
      async () => {
        calls += 1;
        await sleep(900);
      },
      { concurrency: 2 },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    expect(calls).toBe(1);
    expect(queue.visibilityChanges.length).toBeGreaterThanOrEqual(3);
    expect(new Set(queue.visibilityChanges.map((c) => c.seconds))).toEqual(new Set([0.3]));
  });

  it('keeps receiving after failed receives, not ready while they keep failing', async () => {
    const queue = new MemoryQueue();
    queue.failReceives = 3;
    queue.send('late');
    const { consumer, registry } = consume(queue, () => Promise.resolve());
    await consumer.start();
    await until(() => !consumer.ready);
    await until(() => queue.size === 0);
    expect(consumer.ready).toBe(true);
    expect(await metric(registry, 'consumer_sqs_errors_total', { operation: 'receive' })).toBe(3);
  });

  it('retries deletes SQS failed on its side and gives up on stale receipts', async () => {
    const queue = new MemoryQueue();
    const flaky = queue.send('flaky');
    const stale = queue.send('stale');
    let flakyFailures = 0;
    queue.deleteFailure = (id) => {
      if (id === flaky && flakyFailures++ === 0) return { code: 'InternalError', senderFault: false };
      if (id === stale) return { code: 'ReceiptHandleIsInvalid', senderFault: true };
      return undefined;
    };
    const { consumer, registry } = consume(queue, () => Promise.resolve());
    await consumer.start();
    await until(() => queue.size === 1 && consumer.inFlight === 0);
    expect(flakyFailures).toBe(2);
    expect(await metric(registry, 'consumer_sqs_errors_total', { operation: 'delete' })).toBe(2);
  });
});

describe('Consumer.stop', () => {
  it('finishes running work, releases what has not started, and stops receiving', async () => {
    const queue = new MemoryQueue({ fifo: true });
    for (const body of ['a1', 'a2', 'a3']) queue.send(body, { groupId: 'a' });
    const started: string[] = [];
    const { consumer } = consume(queue, async (message) => {
      started.push(message.body);
      await sleep(100);
    });
    await consumer.start();
    await until(() => started.length === 1);
    expect(consumer.ready).toBe(true);
    const stopping = consumer.stop(5_000);
    expect(consumer.ready).toBe(false);
    const report = await stopping;
    expect(report).toEqual({ finished: 1, released: 2 });
    expect(started).toEqual(['a1']);
    expect(queue.size).toBe(2);
    expect(queue.inFlight).toBe(0);
    expect(consumer.state).toBe('stopped');
  });

  it('aborts handlers still running when the grace period ends and releases their messages', async () => {
    const queue = new MemoryQueue();
    queue.send('stuck');
    let sawAbort = false;
    const { consumer, registry } = consume(
      queue,
      (_message, { signal }) =>
        new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted'));
          }),
        ),
    );
    await consumer.start();
    await until(() => consumer.inFlight === 1);
    const began = Date.now();
    const report = await consumer.stop(100);
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(sawAbort).toBe(true);
    expect(report.finished).toBe(1);
    expect(queue.inFlight).toBe(0);
    expect(await metric(registry, 'consumer_messages_failed_total', { reason: 'shutdown' })).toBe(1);
  });

  it('releases what a receive in progress brings after the stop, instead of losing it', async () => {
    const queue = new MemoryQueue({ maxWaitMs: 200 });
    const handled: string[] = [];
    const { consumer, registry } = consume(queue, (message) => {
      handled.push(message.body);
      return Promise.resolve();
    });
    await consumer.start();
    await sleep(20);
    const stopping = consumer.stop(5_000);
    queue.send('arrives during the drain');
    await stopping;
    expect(handled).toEqual([]);
    expect(queue.size).toBe(1);
    expect(queue.inFlight).toBe(0);
    expect(await metric(registry, 'consumer_messages_released_total', { reason: 'shutdown' })).toBe(1);
  });

  it('retries a failing message in process within its retry budget, without SQS counting a receive', async () => {
    const queue = new MemoryQueue({ maxReceiveCount: 3 });
    queue.send('flaky');
    const receiveCounts: number[] = [];
    const { consumer } = consume(
      queue,
      (message) => {
        receiveCounts.push(message.receiveCount);
        return receiveCounts.length <= 5 ? Promise.reject(new Error('database down')) : Promise.resolve();
      },
      { retryBudgetMs: 5_000, retry: { baseMs: 5, maxMs: 20 } },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    // Six attempts on one receive: a short outage never reaches the redrive.
    expect(receiveCounts).toEqual([1, 1, 1, 1, 1, 1]);
    expect(queue.deadLetters).toEqual([]);
    expect(queue.visibilityChanges.filter((c) => c.seconds !== 30)).toEqual([]);
  });

  it('hands a message back to SQS once its retry budget is spent', async () => {
    const queue = new MemoryQueue({ maxReceiveCount: 2 });
    queue.send('broken');
    const receiveCounts: number[] = [];
    const { consumer } = consume(
      queue,
      (message) => {
        receiveCounts.push(message.receiveCount);
        return Promise.reject(new Error('always'));
      },
      { retryBudgetMs: 100, retry: { baseMs: 20, maxMs: 20 } },
    );
    await consumer.start();
    await until(() => queue.deadLetters.length === 1);
    expect(receiveCounts.filter((n) => n === 1).length).toBeGreaterThan(1);
    expect(receiveCounts.filter((n) => n === 2).length).toBeGreaterThan(1);
  });

  it('keeps a FIFO group together: a failing message spends its receives in place, its group-mates none', async () => {
    const queue = new MemoryQueue({ fifo: true, maxReceiveCount: 3, deadLetterQueue: true });
    for (const body of ['a1', 'a2', 'a3']) queue.send(body, { groupId: 'a' });
    const seen: string[] = [];
    const { consumer, registry } = consume(queue, (message) => {
      seen.push(`${message.body}#${message.receiveCount}`);
      return message.body === 'a1' ? Promise.reject(new Error('fails every time')) : Promise.resolve();
    });
    await consumer.start();
    await until(() => queue.size === 0);
    expect(seen).toEqual(['a1#1', 'a1#1', 'a1#1', 'a2#1', 'a3#1']);
    expect(queue.moved.map((m) => [m.body, m.groupId])).toEqual([['a1', 'a']]);
    expect(queue.deadLetters).toEqual([]);
    expect(await metric(registry, 'consumer_messages_released_total', { reason: 'fifo_order' })).toBe(0);
  });

  it('moves a poison FIFO message to the dead-letter queue at once; its group goes on', async () => {
    const queue = new MemoryQueue({ fifo: true, maxReceiveCount: 3, deadLetterQueue: true });
    for (const body of ['bad', 'good']) queue.send(body, { groupId: 'g' });
    const seen: string[] = [];
    const { consumer } = consume(queue, (message) => {
      seen.push(message.body);
      return message.body === 'bad' ? Promise.reject(new PoisonMessageError('not JSON')) : Promise.resolve();
    });
    await consumer.start();
    await until(() => queue.size === 0);
    expect(seen).toEqual(['bad', 'good']);
    expect(queue.moved.map((m) => m.body)).toEqual(['bad']);
  });

  it('holds a FIFO group when a delete fails: the next message waits for the failed one', async () => {
    const queue = new MemoryQueue({ fifo: true, maxReceiveCount: 5 });
    for (const body of ['a1', 'a2']) queue.send(body, { groupId: 'a' });
    let refused = false;
    queue.deleteFailure = () => {
      if (refused) return undefined;
      refused = true;
      return { code: 'ReceiptHandleIsInvalid', senderFault: true };
    };
    const seen: string[] = [];
    const { consumer } = consume(queue, (message) => {
      seen.push(message.body);
      return Promise.resolve();
    });
    await consumer.start();
    await until(() => queue.size === 0);
    expect(seen).toEqual(['a1', 'a1', 'a2']);
  });

  it('knows FIFO from the URL and does not receive until it could read the attributes', async () => {
    const queue = new MemoryQueue({ fifo: true, maxReceiveCount: 3 });
    queue.failSettings = 2;
    for (const body of ['a1', 'a2', 'a3']) queue.send(body, { groupId: 'a' });
    const running: string[] = [];
    let overlapped = false;
    const { consumer } = consume(queue, async (message) => {
      if (running.length > 0) overlapped = true;
      running.push(message.body);
      await sleep(5);
      running.pop();
    });
    await consumer.start();
    expect(consumer.settings.fifo).toBe(true);
    expect(consumer.ready).toBe(false);
    expect(queue.receiveSizes).toEqual([]);
    await until(() => queue.size === 0);
    expect(consumer.ready).toBe(true);
    expect(overlapped).toBe(false);
  });

  it('fails an attempt that outlives the handler timeout and retries it', async () => {
    const queue = new MemoryQueue();
    queue.send('slow once');
    let attempts = 0;
    let abortedFirst = false;
    const { consumer } = consume(
      queue,
      (_message, { signal }) => {
        attempts += 1;
        if (attempts > 1) return Promise.resolve();
        return new Promise<void>(() => signal.addEventListener('abort', () => (abortedFirst = true)));
      },
      { handlerTimeoutMs: 50, retryBudgetMs: 5_000, retry: { baseMs: 5, maxMs: 5 } },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    expect(attempts).toBe(2);
    expect(abortedFirst).toBe(true);
  });

  it('reports itself not live when the receive loop stalls', async () => {
    const queue = new MemoryQueue();
    const { consumer } = consume(queue, () => Promise.resolve(), { stallAfterMs: 100 });
    await consumer.start();
    expect(consumer.healthy).toBe(true);
    queue.hang = true;
    await until(() => !consumer.healthy, 2_000);
  });

  it('stops within the grace period even when handlers ignore their abort and SQS hangs', async () => {
    const queue = new MemoryQueue();
    for (let i = 0; i < 3; i++) queue.send(`stuck-${i}`);
    const { consumer } = consume(queue, () => new Promise<void>(() => undefined));
    await consumer.start();
    await until(() => consumer.inFlight === 3);
    queue.hang = true;
    const began = Date.now();
    await consumer.stop(400);
    expect(Date.now() - began).toBeLessThan(700);
  });

  it('asks SQS for full batches, not only for the slots just freed', async () => {
    const queue = new MemoryQueue();
    for (let i = 0; i < 50; i++) queue.send(`m${i}`);
    const { consumer } = consume(
      queue,
      async () => {
        await sleep(1 + Math.random() * 10);
      },
      {
        concurrency: 10,
        batchSize: 10,
      },
    );
    await consumer.start();
    await until(() => queue.size === 0);
    const nonEmpty = queue.receiveSizes.slice(0, 5);
    expect(nonEmpty).toEqual([10, 10, 10, 10, 10]);
  });
});
