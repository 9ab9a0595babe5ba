// A dead-letter redrive, asked for on a ConsumerQueue by annotation and reported in its status.
// An annotation, not a spec field: a request is an act with an id, given by GitOps or by
// `kubectl annotate --overwrite`, and it must not change the queue's generation.
import { z } from 'zod';
import { GROUP } from './common.ts';

/** The request: any new id asks for one move of the dead-letter queue's messages back. */
export const REDRIVE_REQUEST_ANNOTATION = `${GROUP}/redrive-request`;
/** Optional: the most messages moved per second (SQS's MaxNumberOfMessagesPerSecond). */
export const REDRIVE_RATE_ANNOTATION = `${GROUP}/redrive-max-per-second`;
/** A request id: what a person or a pipeline would write (a date, a ticket, a commit). */
export const REDRIVE_REQUEST_ID = /^[A-Za-z0-9]([A-Za-z0-9._:-]{0,61}[A-Za-z0-9])?$/;
/** SQS's bounds of MaxNumberOfMessagesPerSecond. */
export const REDRIVE_RATE_MIN = 1;
export const REDRIVE_RATE_MAX = 500;

export const REDRIVE_STATES = ['Waiting', 'Starting', 'Running', 'Completed', 'Failed', 'Cancelled'] as const;
export type RedriveState = (typeof REDRIVE_STATES)[number];
/** States after which a request id is done for good: it is never run again. */
export const FINISHED_REDRIVE_STATES: ReadonlySet<RedriveState> = new Set([
  'Completed',
  'Failed',
  'Cancelled',
]);

const time = (what: string) => z.iso.datetime({ offset: true }).optional().describe(what);

export const RedriveStatusSchema = z
  .object({
    requestId: z.string().describe(`The request id, from the ${REDRIVE_REQUEST_ANNOTATION} annotation.`),
    state: z
      .enum(REDRIVE_STATES)
      .describe(
        'Waiting: another move task runs on the dead-letter queue, the request starts after it. Starting: the move task is being started. Running: SQS moves the messages. Completed, Failed, Cancelled: the move task ended so; the request is never run again.',
      ),
    reason: z.string().optional().describe('CamelCase reason of the state.'),
    message: z.string().optional().describe('What the state means for this request.'),
    maxPerSecond: z
      .int()
      .min(1)
      .optional()
      .describe('The rate asked for, in messages per second; absent: SQS decides.'),
    moved: z.int().min(0).optional().describe('Messages moved so far (ApproximateNumberOfMessagesMoved).'),
    toMove: z
      .int()
      .min(0)
      .optional()
      .describe('Messages the task set out to move (ApproximateNumberOfMessagesToMove).'),
    requestedAt: time(
      'When the operator recorded the request, just before starting its move task (RFC 3339).',
    ),
    startedAt: time('When SQS started the move task (RFC 3339).'),
    finishedAt: time('When the operator saw the task end (RFC 3339).'),
    taskHandle: z.string().optional().describe('The SQS move task handle, while it runs.'),
    queuedRequestId: z
      .string()
      .optional()
      .describe('A newer request id that waits for this request to finish; it starts then.'),
    finishedRequestIds: z
      .array(z.string())
      .max(20)
      .optional()
      .describe('The last request ids that finished (at most 20, oldest first): none of them is run again.'),
  })
  .describe(
    `The last dead-letter redrive asked for with the ${REDRIVE_REQUEST_ANNOTATION} annotation, and its progress.`,
  );
export type RedriveStatus = z.output<typeof RedriveStatusSchema>;
