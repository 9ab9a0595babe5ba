import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import {
  defaultControllerRateLimiter,
  ExponentialBackoffRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
} from './ratelimiter.ts';

describe('ExponentialBackoffRateLimiter', () => {
  it('doubles per key from the base up to the cap', () => {
    const rl = new ExponentialBackoffRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 6 }, () => rl.when('a'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160]);
    expect(rl.retries('a')).toBe(6);
    for (let i = 0; i < 100; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
  });

  it('keeps keys apart and forget resets one key only', () => {
    const rl = new ExponentialBackoffRateLimiter(5, 1000);
    rl.when('a');
    rl.when('a');
    expect(rl.when('b')).toBe(5);
    rl.forget('a');
    expect(rl.retries('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
    expect(rl.when('b')).toBe(10);
  });
});

describe('TokenBucketRateLimiter', () => {
  it('lets a burst through, then spaces retries at the rate, and refills with time', () => {
    const clock = new FakeClock();
    const rl = new TokenBucketRateLimiter(clock, 10, 3);
    expect([rl.when('a'), rl.when('b'), rl.when('c')]).toEqual([0, 0, 0]);
    expect(rl.when('d')).toBe(100);
    expect(rl.when('e')).toBe(200);
    clock.advance(1000); // refills 10 tokens, capped at the burst, minus the 2 owed
    expect([rl.when('f'), rl.when('g'), rl.when('h')]).toEqual([0, 0, 0]);
    expect(rl.when('i')).toBe(100);
  });
});

describe('MaxOfRateLimiter / default', () => {
  it('takes the longest delay and records the retry in every limiter', () => {
    const clock = new FakeClock();
    const rl = new MaxOfRateLimiter(
      new ExponentialBackoffRateLimiter(5, 1000),
      new TokenBucketRateLimiter(clock, 1, 1),
    );
    expect(rl.when('a')).toBe(5);
    expect(rl.when('a')).toBe(1000); // bucket empty: 1 s beats 10 ms
    expect(rl.retries('a')).toBe(2);
    rl.forget('a');
    expect(rl.retries('a')).toBe(0);
  });

  it('default limiter starts at 5 ms and caps at 1000 s', () => {
    const rl = defaultControllerRateLimiter(new FakeClock());
    expect(rl.when('k')).toBe(5);
    expect(rl.when('k')).toBe(10);
    for (let i = 0; i < 40; i++) rl.when('k');
    expect(rl.when('k')).toBe(1_000_000);
  });
});
