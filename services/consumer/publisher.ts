// Publishes events to an SNS topic with the attributes every consumer relies on: eventType (for
// filter policies), eventId (the idempotency key) and the current trace id.
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import type { CircuitBreaker } from './breaker.ts';
import { EVENT_ID_ATTRIBUTE, EVENT_TYPE_ATTRIBUTE } from './message.ts';
import { TRACE_ID_ATTRIBUTE, currentTraceId } from './trace.ts';

export interface OutboundEvent {
  eventType: string;
  /** Same for every publish of one event, so consumers can drop copies. */
  eventId: string;
  /** Serialised as JSON. */
  body: unknown;
  /** FIFO topics: the message group, e.g. the order id. */
  groupId?: string;
  /** FIFO topics: SNS drops a second publish with this id within 5 minutes. */
  deduplicationId?: string;
  /** Further string attributes. */
  attributes?: Record<string, string>;
}

export interface Publisher {
  readonly topicArn: string;
  readonly fifo: boolean;
  /** Resolves with SNS's message id. */
  publish(event: OutboundEvent): Promise<string>;
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/** The PublishCommand input for `event`; throws when FIFO-ness and the group id disagree. */
export function publishInput(topicArn: string, event: OutboundEvent, traceId = currentTraceId()) {
  const fifo = topicArn.endsWith('.fifo');
  if (fifo && !event.groupId)
    throw new Error(`publishing ${event.eventType} to FIFO topic ${topicArn} needs a groupId`);
  if (!fifo && (event.groupId || event.deduplicationId))
    throw new Error(
      `${event.eventType}: groupId and deduplicationId apply only to FIFO topics (${topicArn})`,
    );
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(event.attributes ?? {})) attributes[name] = text(value);
  attributes[EVENT_TYPE_ATTRIBUTE] = text(event.eventType);
  attributes[EVENT_ID_ATTRIBUTE] = text(event.eventId);
  if (traceId) attributes[TRACE_ID_ATTRIBUTE] = text(traceId);
  return {
    TopicArn: topicArn,
    Message: JSON.stringify(event.body),
    MessageAttributes: attributes,
    ...(fifo ? { MessageGroupId: event.groupId, MessageDeduplicationId: event.deduplicationId } : {}),
  };
}

/** Publishes with the AWS SDK; a call is abandoned after `timeoutMs` (default 10 s). */
export function snsPublisher(
  sns: SNSClient,
  topicArn: string,
  options: { timeoutMs?: number } = {},
): Publisher {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    topicArn,
    fifo: topicArn.endsWith('.fifo'),
    async publish(event) {
      const out = await sns.send(new PublishCommand(publishInput(topicArn, event)), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return out.MessageId ?? '';
    },
  };
}

/** A publisher behind a circuit breaker: while SNS keeps failing, publishes fail at once. */
export function guardedPublisher(publisher: Publisher, breaker: CircuitBreaker): Publisher {
  return {
    topicArn: publisher.topicArn,
    fifo: publisher.fifo,
    publish: (event) => breaker.run(() => publisher.publish(event)),
  };
}
