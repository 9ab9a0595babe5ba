import { describe, expect, it } from 'vitest';
import {
  formatTime,
  getCondition,
  isFalse,
  isTrue,
  isTrueForGeneration,
  MAX_CONDITION_MESSAGE,
  removeCondition,
  setCondition,
  type Condition,
  type ConditionUpdate,
} from './conditions.ts';

const T0 = new Date('2025-01-01T00:00:00.123Z');
const T1 = new Date('2025-01-01T01:00:00.000Z');
const ready = (status: Condition['status'], reason = 'R', message = 'm', gen = 1): Condition => ({
  type: 'Ready',
  status,
  observedGeneration: gen,
  lastTransitionTime: formatTime(T0),
  reason,
  message,
});

describe('setCondition', () => {
  const cases: {
    name: string;
    before: Condition[] | undefined;
    update: ConditionUpdate;
    transition: string;
    expectLength: number;
  }[] = [
    {
      name: 'adds a new condition stamped now',
      before: undefined,
      update: { type: 'Ready', status: 'True', reason: 'Ok', observedGeneration: 1 },
      transition: '2025-01-01T01:00:00Z',
      expectLength: 1,
    },
    {
      name: 'keeps lastTransitionTime when only reason and message change',
      before: [ready('False', 'Waiting')],
      update: { type: 'Ready', status: 'False', reason: 'StillWaiting', message: 'x', observedGeneration: 2 },
      transition: '2025-01-01T00:00:00Z',
      expectLength: 1,
    },
    {
      name: 'moves lastTransitionTime when status flips',
      before: [ready('False')],
      update: { type: 'Ready', status: 'True', reason: 'Ok', observedGeneration: 2 },
      transition: '2025-01-01T01:00:00Z',
      expectLength: 1,
    },
    {
      name: 'Unknown to False is a flip too',
      before: [ready('Unknown')],
      update: { type: 'Ready', status: 'False', reason: 'Failed' },
      transition: '2025-01-01T01:00:00Z',
      expectLength: 1,
    },
    {
      name: 'leaves other types alone and appends',
      before: [{ ...ready('True'), type: 'Synced' }],
      update: { type: 'Ready', status: 'True', reason: 'Ok' },
      transition: '2025-01-01T01:00:00Z',
      expectLength: 2,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const frozen = c.before ? structuredClone(c.before) : undefined;
      const after = setCondition(c.before, c.update, T1);
      expect(c.before).toEqual(frozen); // input untouched
      expect(after).toHaveLength(c.expectLength);
      const got = getCondition(after, c.update.type);
      expect(got).toEqual({
        type: c.update.type,
        status: c.update.status,
        reason: c.update.reason,
        message: c.update.message ?? '',
        lastTransitionTime: c.transition,
        ...(c.update.observedGeneration !== undefined
          ? { observedGeneration: c.update.observedGeneration }
          : {}),
      });
    });
  }

  it('preserves the order of existing conditions', () => {
    const before = [{ ...ready('True'), type: 'A' }, ready('True'), { ...ready('True'), type: 'B' }];
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'No' }, T1);
    expect(after.map((c) => c.type)).toEqual(['A', 'Ready', 'B']);
  });

  it('truncates very long messages to the API limit', () => {
    const after = setCondition([], {
      type: 'Ready',
      status: 'False',
      reason: 'R',
      message: 'x'.repeat(40_000),
    });
    expect(getCondition(after, 'Ready')?.message).toHaveLength(MAX_CONDITION_MESSAGE);
  });
});

describe('queries', () => {
  const list = [ready('True', 'Ok', '', 3), { ...ready('False'), type: 'Synced' }];
  it.each([
    ['isTrue Ready', isTrue(list, 'Ready'), true],
    ['isTrue Synced', isTrue(list, 'Synced'), false],
    ['isTrue missing', isTrue(list, 'Nope'), false],
    ['isTrue undefined list', isTrue(undefined, 'Ready'), false],
    ['isFalse Synced', isFalse(list, 'Synced'), true],
    ['isFalse missing', isFalse(list, 'Nope'), false],
    ['current generation', isTrueForGeneration(list, 'Ready', 3), true],
    ['stale generation', isTrueForGeneration(list, 'Ready', 4), false],
  ])('%s', (_name, got, want) => {
    expect(got).toBe(want);
  });

  it('removeCondition drops one type', () => {
    expect(removeCondition(list, 'Ready').map((c) => c.type)).toEqual(['Synced']);
    expect(removeCondition(undefined, 'Ready')).toEqual([]);
  });

  it('formatTime has second precision', () => {
    expect(formatTime(T0)).toBe('2025-01-01T00:00:00Z');
  });
});
