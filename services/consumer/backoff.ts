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

export interface RetryPolicy {
  /** Pause after the first failed attempt, in ms. */
  baseMs: number;
  /** Longest pause between attempts, in ms. */
  maxMs: number;
}

/** Pauses between in-process attempts: 0.5 s doubling to 30 s. */
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000 };

/**
 * The pause after the nth failed in-process attempt: base·2^(n-1), capped, with equal jitter (half
 * fixed, half random), so replicas that failed together spread out yet never hammer at once.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
