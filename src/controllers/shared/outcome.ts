// Turning a failed reconcile into what the user sees (a Synced=False condition with a reason) and
// what the runtime does next (retry with backoff, or stop because only a spec change can help).
import { AwsError } from '../../aws/errors.ts';
import { setCondition, type Condition, type ConditionUpdate } from '../../runtime/conditions.ts';

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
