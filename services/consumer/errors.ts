// Errors a handler throws to tell the runtime what to do with the message.

/**
 * The message can never be handled (unparseable, invalid, unknown): no backoff, it is made visible
 * again at once so that SQS moves it to the dead-letter queue after maxReceiveCount receives.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

export const isPoison = (error: unknown): boolean => error instanceof PoisonMessageError;

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
