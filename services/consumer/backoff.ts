// How long a failed message stays invisible before its next try.

export interface BackoffPolicy {
  /** Delay after the first failed receive, in seconds. */
  baseSeconds: number;
  /** Largest delay, in seconds; SQS allows at most 43200 (12 hours). */
  maxSeconds: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseSeconds: 1, maxSeconds: 300 };
const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/**
 * Exponential backoff with "equal jitter": the nth failed receive waits between half and all of
 * base·2^(n-1), capped, so replicas that failed together do not retry together, yet never retry at once.
 * `random` returns a number in [0, 1).
 */
export function backoffSeconds(
  receiveCount: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const attempt = Math.max(1, Math.floor(receiveCount));
  const cap = Math.min(policy.maxSeconds, SQS_MAX_VISIBILITY_SECONDS);
  const ceiling = Math.min(cap, policy.baseSeconds * 2 ** Math.min(attempt - 1, 30));
  const half = ceiling / 2;
  return Math.min(cap, Math.max(0, Math.round(half + random() * half)));
}
