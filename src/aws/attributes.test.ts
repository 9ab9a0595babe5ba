import { describe, expect, it } from 'vitest';
import { attributeDelta, canonicalJson, normalizeAttributes, type DesiredAttributes } from './attributes.ts';

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    ['sorts keys', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['sorts nested keys', { z: { y: 1, x: [{ d: 1, c: 2 }] } }, '{"z":{"x":[{"c":2,"d":1}],"y":1}}'],
    ['keeps array order', { a: [3, 1, 2] }, '{"a":[3,1,2]}'],
    ['parses a JSON string first', '{ "b": 1,\n "a": 2 }', '{"a":2,"b":1}'],
    ['leaves a non-JSON string alone', 'not json', 'not json'],
    ['handles scalars', 5, '5'],
  ])('%s', (_what, input, expected) => {
    expect(canonicalJson(input)).toBe(expected);
  });

  it('gives the same text for any key order', () => {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'sns' } }] };
    const shuffled = {
      Statement: [{ Principal: { Service: 'sns' }, Effect: 'Allow' }],
      Version: '2012-10-17',
    };
    expect(canonicalJson(JSON.stringify(shuffled))).toBe(canonicalJson(policy));
  });
});

describe('normalizeAttributes', () => {
  it('turns numbers, booleans and JSON into the strings AWS takes', () => {
    expect(
      normalizeAttributes({
        VisibilityTimeout: 30,
        FifoQueue: true,
        RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: 'arn:dlq' },
        KmsMasterKeyId: 'alias/orders',
        DelaySeconds: undefined,
      }),
    ).toEqual({
      VisibilityTimeout: '30',
      FifoQueue: 'true',
      RedrivePolicy: '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":3}',
      KmsMasterKeyId: 'alias/orders',
    });
  });
});

const redrive = '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":3}';

describe('attributeDelta', () => {
  it.each<[string, DesiredAttributes, Record<string, string>, Record<string, string>]>([
    ['equal numbers sent as numbers', { VisibilityTimeout: 30 }, { VisibilityTimeout: '30' }, {}],
    ['equal numbers written differently', { VisibilityTimeout: '30.0' }, { VisibilityTimeout: '30' }, {}],
    ['a changed number', { VisibilityTimeout: 60 }, { VisibilityTimeout: '30' }, { VisibilityTimeout: '60' }],
    ['booleans ignore case', { RawMessageDelivery: true }, { RawMessageDelivery: 'True' }, {}],
    [
      'a changed boolean',
      { RawMessageDelivery: false },
      { RawMessageDelivery: 'true' },
      { RawMessageDelivery: 'false' },
    ],
    [
      'JSON in another key order',
      { RedrivePolicy: { maxReceiveCount: 3, deadLetterTargetArn: 'arn:aws:sqs:us-east-1:1:dlq' } },
      { RedrivePolicy: redrive },
      {},
    ],
    [
      'maxReceiveCount as a string',
      { RedrivePolicy: '{"maxReceiveCount":"3","deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq"}' },
      { RedrivePolicy: redrive },
      {},
    ],
    [
      'a changed JSON value',
      { RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: 'arn:aws:sqs:us-east-1:1:dlq' } },
      { RedrivePolicy: redrive },
      { RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":5}' },
    ],
    [
      'a filter policy in another order',
      { FilterPolicy: { eventType: ['OrderCreated'], source: ['shop'] } },
      { FilterPolicy: '{\n  "source" : [ "shop" ],\n  "eventType" : [ "OrderCreated" ]\n}' },
      {},
    ],
    [
      'filter values in another order are a change (AWS keeps the order)',
      { FilterPolicy: { eventType: ['A', 'B'] } },
      { FilterPolicy: '{"eventType":["B","A"]}' },
      { FilterPolicy: '{"eventType":["A","B"]}' },
    ],
    ['a cleared attribute that AWS no longer reports', { RedrivePolicy: '' }, {}, {}],
    ['an attribute to clear', { RedrivePolicy: '' }, { RedrivePolicy: redrive }, { RedrivePolicy: '' }],
    ['an empty JSON document equals an absent one', { FilterPolicy: {} }, {}, {}],
    ['a new attribute', { KmsMasterKeyId: 'alias/x' }, {}, { KmsMasterKeyId: 'alias/x' }],
    [
      'attributes AWS reports beyond the desired ones',
      { DelaySeconds: 0 },
      { DelaySeconds: '0', QueueArn: 'arn' },
      {},
    ],
    ['undefined means do not care', { DelaySeconds: undefined }, { DelaySeconds: '5' }, {}],
    [
      'strings compare exactly',
      { KmsMasterKeyId: 'alias/X' },
      { KmsMasterKeyId: 'alias/x' },
      { KmsMasterKeyId: 'alias/X' },
    ],
  ])('%s', (_what, desired, actual, expected) => {
    expect(attributeDelta(desired, actual)).toEqual(expected);
  });

  it('is empty once the delta has been applied', () => {
    const desired: DesiredAttributes = {
      VisibilityTimeout: 45,
      Policy: { Version: '2012-10-17', Statement: [{ Sid: 'a', Effect: 'Allow' }] },
    };
    const actual = { VisibilityTimeout: '30', Policy: '' };
    expect(attributeDelta(desired, { ...actual, ...attributeDelta(desired, actual) })).toEqual({});
  });
});
