// Turning a failed reconcile into what the user sees (a Synced=False condition with a reason) and
// what the runtime does next (retry with backoff, or stop because only a spec change can help).
import { AwsError } from '../../aws/errors.ts';
import { setCondition, type Condition, type ConditionUpdate } from '../../runtime/conditions.ts';
import { requeueAfter, terminal, type ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { KubeObject } from '../../runtime/types.ts';

/** One condition's value, as the controllers write it. */
export interface ConditionValue {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface Failure {
  /** CamelCase condition reason. */
  reason: string;
  message: string;
  /** False when retrying cannot help until someone changes something. */
  retry: boolean;
  /** A wait AWS asked for (for example after a queue deletion), in milliseconds. */
  retryAfterMs?: number;
}

export function failureOf(error: unknown): Failure {
  if (error instanceof AwsError) {
    if (error.kind === 'terminal') return { reason: 'AwsRefused', message: error.message, retry: false };
    const reason =
      error.classification.kind === 'retryable' && error.classification.throttling
        ? 'Throttled'
        : 'AwsUnavailable';
    return {
      reason,
      message: error.message,
      retry: true,
      ...(error.retryAfterSeconds !== undefined ? { retryAfterMs: error.retryAfterSeconds * 1000 } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { reason: 'ReconcileError', message, retry: true };
}

/** Applies several condition updates at once, all stamped with the same generation. */
export function withConditions(
  conditions: readonly Condition[] | undefined,
  generation: number | undefined,
  updates: readonly Omit<ConditionUpdate, 'observedGeneration'>[],
  now: Date = new Date(),
): Condition[] {
  let next = [...(conditions ?? [])];
  for (const update of updates) {
    next = setCondition(
      next,
      { ...update, ...(generation !== undefined ? { observedGeneration: generation } : {}) },
      now,
    );
  }
  return next;
}

/**
 * The end of every failed reconcile: log it, say it in status (`writeProblem` gets the condition
 * value; a failing status write is only logged), then stop with an Event when no retry can help,
 * wait as long as AWS asked, or rethrow so the runtime backs off.
 */
export async function settleFailure(
  ctx: { log: Logger; recorder: EventRecorder },
  obj: KubeObject,
  error: unknown,
  failure: Failure,
  writeProblem: (problem: ConditionValue) => Promise<void>,
): Promise<ReconcileResult> {
  ctx.log.warn({ err: error, reason: failure.reason }, 'reconcile failed');
  await writeProblem({ status: 'False', reason: failure.reason, message: failure.message }).catch(
    (statusError: unknown) => ctx.log.debug({ err: statusError }, 'status write after failure failed'),
  );
  if (!failure.retry) {
    ctx.recorder.event(obj, 'Warning', failure.reason, failure.message);
    return terminal(failure.reason, failure.message);
  }
  if (failure.retryAfterMs !== undefined) return requeueAfter(failure.retryAfterMs);
  throw error;
}

/**
 * The status a reconcile writes: the previous one with `fields` over it, observedGeneration, and
 * the condition updates stamped with the object's generation. Fields set to undefined are left
 * out of the apply, and so removed.
 */
export function nextStatus<S extends { conditions?: readonly Condition[]; observedGeneration?: number }>(
  previous: S,
  generation: number | undefined,
  fields: Partial<S>,
  updates: readonly Omit<ConditionUpdate, 'observedGeneration'>[],
  now: Date = new Date(),
): S {
  return {
    ...previous,
    ...fields,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: withConditions(previous.conditions, generation, updates, now),
  };
}
