// The trace id of the work in progress, carried implicitly through async calls so that logs and
// published messages pick it up without passing it around.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** Message attribute and HTTP header that carry a trace id between services. */
export const TRACE_ID_ATTRIBUTE = 'traceId';
export const TRACE_ID_HEADER = 'x-trace-id';

const storage = new AsyncLocalStorage<string>();
const TRACE_ID = /^[0-9a-f]{32}$/;

/** A new trace id: 32 lowercase hex characters, the W3C trace-id format. */
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** Whether `value` is a trace id this runtime accepts; anything else is replaced, never trusted. */
export const isTraceId = (value: unknown): value is string =>
  typeof value === 'string' && TRACE_ID.test(value) && !/^0+$/.test(value);

/** The trace id of a W3C traceparent header (`00-<trace id>-<span id>-<flags>`), if valid. */
export function traceIdFromTraceparent(header: string | undefined): string | undefined {
  const traceId = header?.trim().split('-')[1];
  return isTraceId(traceId) ? traceId : undefined;
}

/** Runs `fn` with `traceId` as the current trace id. */
export const withTraceId = <T>(traceId: string, fn: () => T): T => storage.run(traceId, fn);

/** The current trace id, if the caller runs inside withTraceId. */
export const currentTraceId = (): string | undefined => storage.getStore();
