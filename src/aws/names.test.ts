import { describe, expect, it } from 'vitest';
import {
  isLegalName,
  physicalName,
  queueName,
  SNS_NAME_MAX_LENGTH,
  SQS_NAME_MAX_LENGTH,
  topicName,
  type PhysicalNameInput,
} from './names.ts';

const base = {
  prefix: 'pubsub',
  namespace: 'shop',
  name: 'orders',
  fifo: false,
  maxLength: SQS_NAME_MAX_LENGTH,
};
const long = (n: number, c = 'a') => c.repeat(n);

describe('physicalName', () => {
  it.each<[string, Partial<PhysicalNameInput>, string]>([
    ['prefix, namespace and name joined by _', {}, 'pubsub_shop_orders'],
    ['fifo adds .fifo', { fifo: true }, 'pubsub_shop_orders.fifo'],
    ['a suffix tells apart the resources of one object', { suffix: 'dlq' }, 'pubsub_shop_orders_dlq'],
    ['fifo after the suffix', { suffix: 'dlq', fifo: true }, 'pubsub_shop_orders_dlq.fifo'],
    ['an empty prefix is left out', { prefix: '' }, 'shop_orders'],
    ['hyphens are kept', { namespace: 'team-a', name: 'order-events' }, 'pubsub_team-a_order-events'],
    ['exactly at the limit is kept whole', { prefix: 'p', name: long(80 - 7) }, `p_shop_${long(73)}`],
  ])('%s', (_what, override, expected) => {
    expect(physicalName({ ...base, ...override })).toBe(expected);
  });

  it.each<[string, Partial<PhysicalNameInput>]>([
    ['a dot in the name', { name: 'orders.v2' }],
    ['an underscore smuggled into the name', { name: 'orders_v2' }],
    ['one character over the SQS limit', { prefix: 'p', name: long(74) }],
    ['over the limit once .fifo is counted', { prefix: 'p', name: long(73), fifo: true }],
    ['a 253-character name', { name: long(253) }],
    ['a long topic name', { name: long(253), namespace: long(63), maxLength: SNS_NAME_MAX_LENGTH }],
  ])('%s: legal, within the limit, marked with __ and a hash', (_what, override) => {
    const input = { ...base, ...override };
    const name = physicalName(input);
    expect(name.length).toBeLessThanOrEqual(input.maxLength);
    expect(isLegalName(name, input.maxLength)).toBe(true);
    expect(name).toMatch(input.fifo ? /__[0-9a-f]{10}\.fifo$/ : /__[0-9a-f]{10}$/);
    expect(physicalName(input)).toBe(name);
  });

  it('never gives two long names the same physical name', () => {
    const names = new Set<string>();
    for (let i = 0; i < 500; i++) names.add(queueName({ ...base, name: `${long(100)}-${i}` }));
    expect(names.size).toBe(500);
  });

  it.each<[string, Partial<PhysicalNameInput>, Partial<PhysicalNameInput>]>([
    [
      'the split between namespace and name',
      { namespace: 'a-b', name: 'c' },
      { namespace: 'a', name: 'b-c' },
    ],
    ['a dot and a hyphen', { name: 'orders.v2' }, { name: 'orders-v2' }],
    ['a suffix and a name that ends like it', { name: 'orders', suffix: 'dlq' }, { name: 'orders-dlq' }],
    ['standard and fifo', { fifo: false }, { fifo: true }],
  ])('keeps apart %s', (_what, a, b) => {
    expect(physicalName({ ...base, ...a })).not.toBe(physicalName({ ...base, ...b }));
  });

  it.each<[string, Partial<PhysicalNameInput>]>([
    ['a prefix with an underscore', { prefix: 'a_b' }],
    ['a prefix with a dot', { prefix: 'a.b' }],
    ['an upper-case suffix', { suffix: 'DLQ' }],
    ['an empty name', { name: '' }],
    ['a limit too short for any name', { maxLength: 12 }],
  ])('refuses %s', (_what, override) => {
    expect(() => physicalName({ ...base, ...override })).toThrow();
  });

  it('has per-service shorthands', () => {
    const input = { prefix: 'p', namespace: 'shop', name: long(200), fifo: false };
    expect(queueName(input).length).toBe(SQS_NAME_MAX_LENGTH);
    expect(topicName(input)).toBe(`p_shop_${long(200)}`);
  });
});

describe('isLegalName', () => {
  it.each<[string, number, boolean]>([
    ['orders', 80, true],
    ['orders.fifo', 80, true],
    ['orders.v2', 80, false],
    ['.fifo', 80, false],
    ['', 80, false],
    [long(81), 80, false],
  ])('%s within %d: %s', (name, max, legal) => {
    expect(isLegalName(name, max)).toBe(legal);
  });
});
