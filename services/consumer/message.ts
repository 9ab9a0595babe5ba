// What a handler sees of a message: the published body and attributes, whether SNS delivered it
// raw or in its JSON envelope, plus the SQS facts the runtime needs (receipt, receive count, group).
import type { Message } from '@aws-sdk/client-sqs';
import { TRACE_ID_ATTRIBUTE } from './trace.ts';

/** Message attribute naming the kind of event; SNS filter policies match on it. */
export const EVENT_TYPE_ATTRIBUTE = 'eventType';
/** Message attribute with the publisher's id of the event, the preferred idempotency key. */
export const EVENT_ID_ATTRIBUTE = 'eventId';

export interface InboundMessage {
  /** SQS message id of this copy. */
  messageId: string;
  receiptHandle: string;
  /** The body as published: the SNS envelope's Message, or the SQS body for raw delivery. */
  body: string;
  /** String and number attributes as published (binary ones base64-encoded). */
  attributes: Readonly<Record<string, string>>;
  eventType: string | undefined;
  traceId: string | undefined;
  /**
   * Same for every copy of one event: the eventId attribute, else the SNS message id, else the
   * FIFO deduplication id, else the SQS message id.
   */
  idempotencyKey: string;
  /** How many times SQS has handed out this message, this time included. */
  receiveCount: number;
  /** FIFO message group, when there is one. */
  groupId: string | undefined;
  /** Topic that published it, when SNS wrapped it in its envelope. */
  topicArn: string | undefined;
  sentAt: Date | undefined;
}

interface SnsEnvelope {
  Type: 'Notification';
  MessageId: string;
  TopicArn: string;
  Message: string;
  MessageAttributes?: Record<string, { Type?: string; Value?: string }>;
}

function snsEnvelope(body: string): SnsEnvelope | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const candidate = parsed as Partial<SnsEnvelope>;
  return candidate.Type === 'Notification' &&
    typeof candidate.Message === 'string' &&
    typeof candidate.MessageId === 'string' &&
    typeof candidate.TopicArn === 'string'
    ? (candidate as SnsEnvelope)
    : undefined;
}

function sqsAttributes(message: Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) out[name] = value.StringValue;
    else if (value.BinaryValue !== undefined) out[name] = Buffer.from(value.BinaryValue).toString('base64');
  }
  return out;
}

function envelopeAttributes(envelope: SnsEnvelope): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(envelope.MessageAttributes ?? {})) {
    if (typeof value?.Value === 'string') out[name] = value.Value;
  }
  return out;
}

const positiveInt = (value: string | undefined, fallback: number): number => {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/** Decodes an SQS message; throws only when SQS left out the id or receipt handle. */
export function decodeMessage(message: Message): InboundMessage {
  const { MessageId: messageId, ReceiptHandle: receiptHandle } = message;
  if (!messageId || !receiptHandle) throw new Error('SQS returned a message without id or receipt handle');
  const system = message.Attributes ?? {};
  const rawBody = message.Body ?? '';
  const envelope = snsEnvelope(rawBody);
  // Raw delivery carries SNS attributes as SQS attributes; the envelope carries its own.
  const attributes = envelope
    ? { ...sqsAttributes(message), ...envelopeAttributes(envelope) }
    : sqsAttributes(message);
  const sent = Number(system.SentTimestamp);
  return {
    messageId,
    receiptHandle,
    body: envelope ? envelope.Message : rawBody,
    attributes,
    eventType: attributes[EVENT_TYPE_ATTRIBUTE],
    traceId: attributes[TRACE_ID_ATTRIBUTE],
    idempotencyKey:
      attributes[EVENT_ID_ATTRIBUTE] ?? envelope?.MessageId ?? system.MessageDeduplicationId ?? messageId,
    receiveCount: positiveInt(system.ApproximateReceiveCount, 1),
    groupId: system.MessageGroupId,
    topicArn: envelope?.TopicArn,
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined,
  };
}
