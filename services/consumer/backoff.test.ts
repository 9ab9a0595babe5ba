import { describe, expect, it } from 'vitest';
import { backoffSeconds, retryDelayMs } from './backoff.ts';

describe('backoffSeconds', () => {
  const policy = { baseSeconds: 2, maxSeconds: 60 };

  it('doubles per receive, between half and all of the step', () => {
    for (const [receive, step] of [
      [1, 2],
      [2, 4],
      [3, 8],
      [4, 16],
    ] as const) {
      expect(backoffSeconds(receive, policy, () => 0)).toBe(step / 2);
      expect(backoffSeconds(receive, policy, () => 0.999)).toBe(step);
    }
  });

  it('never exceeds the cap, nor SQS limit of 12 hours', () => {
    expect(backoffSeconds(50, policy, () => 0.999)).toBe(60);
    expect(backoffSeconds(1000, { baseSeconds: 1, maxSeconds: 1e9 }, () => 0.9999999)).toBe(43_200);
  });

  it('spreads replicas that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, (_, i) => backoffSeconds(6, policy, () => i / 50)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap, jittered between half and all of it', () => {
    const policy = { baseMs: 500, maxMs: 30_000 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0.999))).toEqual([500, 1000, 1999, 3998]);
    expect(retryDelayMs(40, policy, () => 0.999)).toBeLessThanOrEqual(30_000);
    expect(retryDelayMs(40, policy, () => 0)).toBe(15_000);
  });
});
