import { describe, expect, it } from 'vitest';
import { sameStatus, WrittenStatuses } from './written-status.ts';

const obj = (resourceVersion: string, status: { n: number }, uid = 'u1') => ({
  metadata: { namespace: 'shop', name: 'pay', uid, resourceVersion },
  status,
});

describe('WrittenStatuses', () => {
  it('gives the status last written while the cache still holds the version it was built on', () => {
    const statuses = new WrittenStatuses<{ n: number }>();
    const cached = obj('10', { n: 1 });
    statuses.record(cached, { n: 2 });
    expect(statuses.current(cached)).toEqual({ n: 2 });
  });

  it('gives the cached status once the cache has moved on, or for another object of the name', () => {
    const statuses = new WrittenStatuses<{ n: number }>();
    statuses.record(obj('10', { n: 1 }), { n: 2 });
    expect(statuses.current(obj('11', { n: 3 }))).toEqual({ n: 3 });
    expect(statuses.current(obj('10', { n: 1 }, 'u2'))).toEqual({ n: 1 });
    statuses.forget({ namespace: 'shop', name: 'pay' });
    expect(statuses.current(obj('10', { n: 1 }))).toEqual({ n: 1 });
  });

  it('keeps no copy once the cache holds the write', () => {
    const statuses = new WrittenStatuses<{ n: number }>();
    statuses.record(obj('10', { n: 1 }), { n: 2 });
    // A newer version that is not the write yet (another field changed): still remembered.
    statuses.current(obj('11', { n: 1 }));
    expect(statuses.size()).toBe(1);
    statuses.current(obj('12', { n: 2 }));
    expect(statuses.size()).toBe(0);
  });
});

describe('sameStatus', () => {
  it('ignores key order and undefined fields, and sees any changed value', () => {
    const stored = { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }], backlog: 3 };
    expect(
      sameStatus(stored, {
        backlog: 3,
        conditions: [{ status: 'True', type: 'Ready' }],
        observedGeneration: 2,
        x: undefined,
      }),
    ).toBe(true);
    expect(sameStatus(stored, { ...stored, backlog: 4 })).toBe(false);
    expect(sameStatus(undefined, {})).toBe(true);
    expect(sameStatus(stored, { ...stored, conditions: [{ type: 'Ready', status: 'False' }] })).toBe(false);
  });
});
