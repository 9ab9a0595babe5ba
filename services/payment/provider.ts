// A stand-in for a card payment provider, deterministic so that the flow can be shown and tested:
// it takes 100-300 ms like a real one, declines what is over the card limit, and is "down" for
// one amount. A real provider takes the payment id as its idempotency key, so charging the same
// payment twice charges once; this one has no side effects to repeat.
import { setTimeout as sleep } from 'node:timers/promises';

/** Orders above this total are declined: PaymentFailed, and the order ends PAYMENT_FAILED. */
export const CARD_LIMIT_CENTS = 500_000;
/** Orders of exactly this total fail every time: the message is retried, then dead-lettered. */
export const ALWAYS_FAILING_CENTS = 1313;

export type ChargeResult = { approved: true } | { approved: false; reason: string };

export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

export interface ChargeRequest {
  paymentId: string;
  amountCents: number;
  currency: string;
}

export interface PaymentProvider {
  charge(request: ChargeRequest, signal?: AbortSignal): Promise<ChargeResult>;
}

export function decide(request: ChargeRequest): ChargeResult {
  if (request.amountCents === ALWAYS_FAILING_CENTS)
    throw new ProviderUnavailableError(`provider unavailable for ${request.amountCents} ${request.currency}`);
  if (request.amountCents > CARD_LIMIT_CENTS)
    return { approved: false, reason: 'amount exceeds the card limit' };
  return { approved: true };
}

export function sampleProvider(latencyMs: () => number = () => 100 + Math.random() * 200): PaymentProvider {
  return {
    async charge(request, signal) {
      await sleep(latencyMs(), undefined, signal ? { signal } : {});
      return decide(request);
    },
  };
}
