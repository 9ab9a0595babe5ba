import { describe, expect, it } from 'vitest';
import { publishInput } from './publisher.ts';
import { withTraceId } from './trace.ts';

const standard = 'arn:aws:sns:eu-west-1:123456789012:order-events';
const fifo = 'arn:aws:sns:eu-west-1:123456789012:payment-events.fifo';

describe('publishInput', () => {
  it('sets eventType, eventId and the current trace id as message attributes', () => {
    const input = withTraceId('f'.repeat(32), () =>
      publishInput(standard, {
        eventType: 'OrderCreated',
        eventId: 'e-1',
        body: { a: 1 },
        attributes: { tenant: 't' },
      }),
    );
    expect(input).toEqual({
      TopicArn: standard,
      Message: '{"a":1}',
      MessageAttributes: {
        tenant: { DataType: 'String', StringValue: 't' },
        eventType: { DataType: 'String', StringValue: 'OrderCreated' },
        eventId: { DataType: 'String', StringValue: 'e-1' },
        traceId: { DataType: 'String', StringValue: 'f'.repeat(32) },
      },
    });
  });

  it('groups and deduplicates on FIFO topics, and requires a group there', () => {
    const event = {
      eventType: 'PaymentProcessed',
      eventId: 'e',
      body: {},
      groupId: 'order-1',
      deduplicationId: 'pay-1',
    };
    expect(publishInput(fifo, event, undefined)).toMatchObject({
      MessageGroupId: 'order-1',
      MessageDeduplicationId: 'pay-1',
    });
    expect(() => publishInput(fifo, { eventType: 'X', eventId: 'e', body: {} })).toThrow(/needs a groupId/);
    expect(() => publishInput(standard, event)).toThrow(/only to FIFO topics/);
  });
});
