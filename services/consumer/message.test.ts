import { describe, expect, it } from 'vitest';
import { decodeMessage } from './message.ts';

const envelope = (message: string, attributes: Record<string, string> = {}) =>
  JSON.stringify({
    Type: 'Notification',
    MessageId: 'sns-1',
    TopicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
    Message: message,
    MessageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [k, { Type: 'String', Value: v }]),
    ),
    Timestamp: '2026-01-01T00:00:00.000Z',
  });

describe('decodeMessage', () => {
  it('reads raw delivery: the body as published and SQS message attributes', () => {
    const decoded = decodeMessage({
      MessageId: 'sqs-1',
      ReceiptHandle: 'r',
      Body: '{"orderId":"o"}',
      Attributes: { ApproximateReceiveCount: '2', SentTimestamp: '1767225600000', MessageGroupId: 'o' },
      MessageAttributes: {
        eventType: { DataType: 'String', StringValue: 'OrderCreated' },
        eventId: { DataType: 'String', StringValue: 'OrderCreated:o' },
        traceId: { DataType: 'String', StringValue: 'ab'.repeat(16) },
        blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2]) },
      },
    });
    expect(decoded).toMatchObject({
      messageId: 'sqs-1',
      body: '{"orderId":"o"}',
      eventType: 'OrderCreated',
      traceId: 'ab'.repeat(16),
      idempotencyKey: 'OrderCreated:o',
      receiveCount: 2,
      groupId: 'o',
      topicArn: undefined,
      sentAt: new Date(1767225600000),
    });
    expect(decoded.attributes['blob']).toBe('AQI=');
  });

  it('unwraps an SNS envelope, taking its attributes and message id', () => {
    const decoded = decodeMessage({
      MessageId: 'sqs-1',
      ReceiptHandle: 'r',
      Body: envelope('{"x":1}', { eventType: 'PaymentProcessed' }),
    });
    expect(decoded).toMatchObject({
      body: '{"x":1}',
      eventType: 'PaymentProcessed',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
      idempotencyKey: 'sns-1',
      receiveCount: 1,
    });
  });

  it('keeps JSON that merely looks like an envelope, and anything unparseable, as the body', () => {
    for (const body of ['{"Type":"Notification"}', '{ not json', '', '[1,2]']) {
      expect(decodeMessage({ MessageId: 'm', ReceiptHandle: 'r', Body: body }).body).toBe(body);
    }
  });

  it('falls back to the FIFO deduplication id, then the SQS message id, as idempotency key', () => {
    const base = { MessageId: 'sqs-9', ReceiptHandle: 'r', Body: 'x' };
    expect(decodeMessage({ ...base, Attributes: { MessageDeduplicationId: 'd-1' } }).idempotencyKey).toBe(
      'd-1',
    );
    expect(decodeMessage(base).idempotencyKey).toBe('sqs-9');
  });

  it('refuses a message without receipt handle', () => {
    expect(() => decodeMessage({ MessageId: 'm', Body: 'x' })).toThrow(/receipt handle/);
  });
});
