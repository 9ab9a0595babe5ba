import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PATTERN_MESSAGE, celString, doc, toStructuralSchema } from './structural.ts';

const field = (schema: z.ZodType) =>
  toStructuralSchema(z.object({ f: schema.describe('a field') }).describe('root'));
const prop = (schema: z.ZodType) =>
  (field(schema)['properties'] as Record<string, Record<string, unknown>>)['f'];

describe('toStructuralSchema', () => {
  it('writes an int-or-string union as x-kubernetes-int-or-string with both branches constraints', () => {
    expect(
      prop(
        z.union([
          z.int().min(0),
          z
            .string()
            .max(8)
            .regex(/^[0-9]+%$/),
        ]),
      ),
    ).toEqual({
      description: 'a field',
      minimum: 0,
      maxLength: 8,
      pattern: '^[0-9]+%$',
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    });
  });

  it('keeps a free-form object as written', () => {
    expect(prop(z.record(z.string(), z.unknown()))).toEqual({
      description: 'a field',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('turns a pattern with a message into a CEL rule that says what is wrong in words', () => {
    const schema = z
      .string()
      .max(10)
      .regex(/^a\/b'$/)
      .meta({ [PATTERN_MESSAGE]: 'must be a/b quote' });
    expect(prop(schema)).toEqual({
      description: 'a field',
      type: 'string',
      maxLength: 10,
      'x-kubernetes-validations': [{ rule: "self.matches('^a/b\\'$')", message: 'must be a/b quote' }],
    });
  });

  it('checks the type first when the pattern is on an int-or-string', () => {
    const schema = z.union([
      z.int(),
      z
        .string()
        .max(4)
        .regex(/^x$/)
        .meta({ [PATTERN_MESSAGE]: 'x' }),
    ]);
    expect(prop(schema)?.['x-kubernetes-validations']).toEqual([
      { rule: "type(self) != string || self.matches('^x$')", message: 'x' },
    ]);
  });

  it('keeps CEL rules and defaults, and leaves optional fields out of required', () => {
    const schema = z
      .object({ a: z.int().default(3).describe('a'), b: z.string().max(3).optional().describe('b') })
      .meta(doc('obj', { rule: 'self.a > 0', message: 'a must be positive' }));
    expect(prop(schema)).toEqual({
      description: 'a field',
      type: 'object',
      properties: {
        a: { description: 'a', type: 'integer', default: 3 },
        b: { description: 'b', type: 'string', maxLength: 3 },
      },
      'x-kubernetes-validations': [{ rule: 'self.a > 0', message: 'a must be positive' }],
    });
  });

  it('drops the pattern zod adds to date-time strings', () => {
    expect(prop(z.iso.datetime())).toEqual({ description: 'a field', type: 'string', format: 'date-time' });
  });

  it('refuses a field without a description', () => {
    expect(() => toStructuralSchema(z.object({ inner: z.object({ x: z.string() }).describe('d') }))).toThrow(
      'inner.x: every field needs a description',
    );
  });

  it('refuses what a structural schema cannot hold', () => {
    expect(() => field(z.union([z.string(), z.boolean()]))).toThrow('only int-or-string unions');
    expect(() => field(z.record(z.string().max(3), z.string()))).toThrow('map key constraints');
    expect(() => field(z.string().max(3).nullable())).toThrow("'nullable' has no place");
  });

  it('demands bounds on strings, lists and maps when asked to', () => {
    const bounded = (schema: z.ZodType) => () =>
      toStructuralSchema(z.object({ f: schema.describe('f') }).describe('root'), { bounded: true });
    expect(bounded(z.string())).toThrow('f: string without maxLength');
    expect(bounded(z.array(z.string().max(1)))).toThrow('f: list without maxItems');
    expect(bounded(z.record(z.string(), z.string().max(1)))).toThrow('f: map without maxProperties');
    expect(bounded(z.enum(['A', 'B']))).not.toThrow();
  });
});

describe('celString', () => {
  it('escapes backslashes and quotes', () => {
    expect(celString("a\\b'c")).toBe("'a\\\\b\\'c'");
  });
});
