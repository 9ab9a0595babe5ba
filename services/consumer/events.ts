// A message handler that dispatches on the eventType attribute and validates the JSON body with a
// zod schema per event type. A body that is not JSON or does not match is poison: it goes to the
// dead-letter queue without backoff.
import type { z } from 'zod';
import type { HandlerContext, MessageHandler } from './consumer.ts';
import { PoisonMessageError } from './errors.ts';
import type { InboundMessage } from './message.ts';

export interface EventRoute<T> {
  schema: z.ZodType<T>;
  handle(event: T, message: InboundMessage, context: HandlerContext): Promise<void>;
}

/** Pairs a schema with its handler, so that the handler's event type is inferred from the schema. */
export const on = <T>(
  schema: z.ZodType<T>,
  handle: (event: T, message: InboundMessage, context: HandlerContext) => Promise<void>,
): EventRoute<T> => ({ schema, handle });

export interface EventHandlerOptions {
  /**
   * What to do with an event type no route names: `ignore` deletes it (a queue may receive more
   * than its consumer needs), `poison` dead-letters it. Default ignore.
   */
  unknown?: 'ignore' | 'poison';
}

const describeIssues = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');

export function eventHandler(
  // Each route keeps its own event type; `any` only erases it in this map.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  routes: Readonly<Record<string, EventRoute<any>>>,
  options: EventHandlerOptions = {},
): MessageHandler {
  return async (message, context) => {
    const eventType = message.eventType;
    const route = eventType === undefined ? undefined : routes[eventType];
    if (eventType === undefined) throw new PoisonMessageError('message has no eventType attribute');
    if (!route) {
      if (options.unknown === 'poison')
        throw new PoisonMessageError(`event type ${eventType} is not handled by this service`);
      context.logger.info(`ignoring event type ${eventType}: this service does not handle it`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(message.body);
    } catch {
      throw new PoisonMessageError(`${eventType} body is not JSON`);
    }
    const parsed = route.schema.safeParse(json);
    if (!parsed.success)
      throw new PoisonMessageError(`invalid ${eventType}: ${describeIssues(parsed.error)}`);
    await route.handle(parsed.data, message, context);
  };
}
