import { describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore } from './idempotency.ts';
import { queueSettingsFrom } from './queue.ts';

describe('MemoryIdempotencyStore', () => {
  it('remembers keys for a while, and only the most recent ones', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore({ capacity: 2, ttlMs: 1_000, now: () => now });
    await store.remember('a');
    await store.remember('b');
    expect(await store.seen('a')).toBe(true);
    await store.remember('c');
    expect(await store.seen('a')).toBe(false);
    expect(store.size).toBe(2);
    now = 2_000;
    expect(await store.seen('c')).toBe(false);
  });
});

describe('queueSettingsFrom', () => {
  it('reads visibility, the redrive limit and FIFO-ness from the attributes', () => {
    expect(
      queueSettingsFrom('https://q/1/orders', {
        VisibilityTimeout: '45',
        RedrivePolicy: '{"deadLetterTargetArn":"arn","maxReceiveCount":"3"}',
      }),
    ).toEqual({ visibilityTimeoutSeconds: 45, maxReceiveCount: 3, fifo: false });
    expect(queueSettingsFrom('https://q/1/pay.fifo', {})).toEqual({
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: undefined,
      fifo: true,
    });
  });
});
