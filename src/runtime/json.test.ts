import { describe, expect, it } from 'vitest';
import { jsonEqual } from './json.ts';

describe('jsonEqual', () => {
  it('agrees with comparing JSON with sorted keys', () => {
    const cases: [unknown, unknown, boolean][] = [
      [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
      [{ a: 1 }, { a: 1, b: undefined }, true],
      [{ a: 1, b: undefined }, { a: 1 }, true],
      [{ a: 1, b: undefined }, { a: 1, b: null }, false],
      [[1, undefined], [1, null], true],
      [{ a: 1 }, { a: 1, b: 2 }, false],
      [{ a: 1, b: 2 }, { a: 1 }, false],
      [{ a: { b: 1 } }, { a: { b: '1' } }, false],
      [[1, 2], [2, 1], false],
      [[1], { 0: 1 }, false],
      [{}, [], false],
      [null, {}, false],
      [undefined, undefined, true],
      ['x', 'x', true],
      [{ a: [] }, { a: {} }, false],
    ];
    for (const [a, b, equal] of cases) {
      expect(jsonEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(equal);
      expect(jsonEqual(b, a)).toBe(equal);
    }
  });
});
