import { describe, expect, it } from 'vitest';
import { AppliedObjects } from './applied.ts';
import { SharedBacklogReadings } from './sources.ts';

const deployment = (image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'pay', namespace: 'shop' },
  spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
});
const at = (resourceVersion: string) => ({ metadata: { resourceVersion } });

describe('AppliedObjects', () => {
  it('is up to date only for the manifest last applied, on the object as that apply left it', () => {
    const applied = new AppliedObjects();
    expect(applied.upToDate('shop/pay', deployment('a'), at('5'))).toBe(false);
    applied.record('shop/pay', deployment('a'), at('5'));
    expect(applied.upToDate('shop/pay', deployment('a'), at('5'))).toBe(true);
    // The spec changed, or someone else changed the object, or it is gone.
    expect(applied.upToDate('shop/pay', deployment('b'), at('5'))).toBe(false);
    expect(applied.upToDate('shop/pay', deployment('a'), at('6'))).toBe(false);
    expect(applied.upToDate('shop/pay', deployment('a'), undefined)).toBe(false);
  });

  it("follows the scaler's own writes, and forgets an owner that is gone", () => {
    const applied = new AppliedObjects();
    applied.record('shop/pay', deployment('a'), at('5'));
    applied.advance('shop/pay', deployment('x'), at('7'));
    expect(applied.upToDate('shop/pay', deployment('a'), at('7'))).toBe(true);
    applied.note('shop/pay', 'no KEDA objects at u/1');
    expect(applied.noted('shop/pay', 'no KEDA objects at u/1')).toBe(true);
    expect(applied.noted('shop/pay', 'no KEDA objects at u/2')).toBe(false);
    applied.forget('shop/pay');
    expect(applied.upToDate('shop/pay', deployment('a'), at('7'))).toBe(false);
    expect(applied.noted('shop/pay', 'no KEDA objects at u/1')).toBe(false);
  });
});

describe('SharedBacklogReadings', () => {
  const backlog = { visible: 3, inFlight: 0, delayed: 0 };

  it('shares a reading younger than the asker allows, and reads again after', async () => {
    const readings = new SharedBacklogReadings();
    let reads = 0;
    const fetch = () => {
      reads++;
      return Promise.resolve(backlog);
    };
    await readings.read('q', 2_500, 1_000, fetch);
    await readings.read('q', 2_500, 2_000, fetch);
    expect(reads).toBe(1);
    await readings.read('q', 2_500, 4_000, fetch);
    expect(reads).toBe(2);
    await readings.read('other', 2_500, 4_000, fetch);
    expect(reads).toBe(3);
  });

  it('does not share a failed reading', async () => {
    const readings = new SharedBacklogReadings();
    await expect(readings.read('q', 2_500, 1_000, () => Promise.reject(new Error('down')))).rejects.toThrow();
    await Promise.resolve();
    expect(await readings.read('q', 2_500, 1_100, () => Promise.resolve(backlog))).toEqual(backlog);
  });
});
