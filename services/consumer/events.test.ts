import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PoisonMessageError } from './errors.ts';
import { eventHandler, on } from './events.ts';
import { decodeMessage } from './message.ts';

const context = { signal: new AbortController().signal, logger: pino({ level: 'silent' }) };
const message = (body: string, eventType?: string) =>
  decodeMessage({
    MessageId: 'm',
    ReceiptHandle: 'r',
    Body: body,
    MessageAttributes: eventType ? { eventType: { DataType: 'String', StringValue: eventType } } : {},
  });

describe('eventHandler', () => {
  const seen: number[] = [];
  const handler = eventHandler({
    Counted: on(z.object({ n: z.int() }), (event) => {
      seen.push(event.n);
      return Promise.resolve();
    }),
  });

  it('validates the body with the schema of its event type and hands it over', async () => {
    await handler(message('{"n":3}', 'Counted'), context);
    expect(seen).toEqual([3]);
  });

  it('treats a body that is not JSON or does not match, and a missing event type, as poison', async () => {
    await expect(handler(message('{', 'Counted'), context)).rejects.toThrow(PoisonMessageError);
    await expect(handler(message('{"n":"x"}', 'Counted'), context)).rejects.toThrow(/invalid Counted: n: /);
    await expect(handler(message('{"n":1}'), context)).rejects.toThrow(/no eventType attribute/);
  });

  it('ignores event types it has no route for, unless told they are poison', async () => {
    await expect(handler(message('{}', 'Other'), context)).resolves.toBeUndefined();
    const strict = eventHandler({}, { unknown: 'poison' });
    await expect(strict(message('{}', 'Other'), context)).rejects.toThrow(PoisonMessageError);
  });
});
