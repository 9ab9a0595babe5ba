import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from './breaker.ts';

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, fails fast, then closes after a successful trial', async () => {
    let now = 0;
    const changes: string[] = [];
    const breaker = new CircuitBreaker('sns', {
      failureThreshold: 2,
      openMs: 1000,
      now: () => now,
      onStateChange: (state) => changes.push(state),
    });
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(new Error('down'));
    };
    await expect(breaker.run(failing)).rejects.toThrow('down');
    await expect(breaker.run(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    await expect(breaker.run(failing)).rejects.toThrow(CircuitOpenError);
    expect(calls).toBe(2);
    now = 1000;
    expect(breaker.state).toBe('half-open');
    await expect(breaker.run(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    now = 2000;
    expect(await breaker.run(() => Promise.resolve('ok'))).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['open', 'open', 'closed']);
  });

  it('lets one trial through while half-open', async () => {
    let now = 0;
    const breaker = new CircuitBreaker('provider', { failureThreshold: 1, openMs: 10, now: () => now });
    await expect(breaker.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    now = 10;
    let finish: (() => void) | undefined;
    const trial = breaker.run(() => new Promise<void>((resolve) => (finish = resolve)));
    await expect(breaker.run(() => Promise.resolve())).rejects.toThrow(CircuitOpenError);
    finish?.();
    await trial;
    expect(breaker.state).toBe('closed');
  });
});
