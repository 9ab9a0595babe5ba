// A circuit breaker around a dependency (SNS, a payment provider): after a run of failures it
// fails calls at once for a cool-down instead of adding load to what is already failing, then lets
// one trial call through; its success closes the circuit, its failure opens it again.
import { errorMessage } from './errors.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

/** Thrown instead of calling while the circuit is open: a transient failure, retried later. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long an open circuit fails calls at once before a trial. Default 10 s. */
  openMs?: number;
  now?: () => number;
  onStateChange?: (state: CircuitState, cause: string | undefined) => void;
}

export class CircuitBreaker {
  readonly name: string;
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #onStateChange: CircuitBreakerOptions['onStateChange'];
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialRunning = false;

  constructor(name: string, options: CircuitBreakerOptions = {}) {
    this.name = name;
    this.#threshold = Math.max(1, options.failureThreshold ?? 5);
    this.#openMs = Math.max(0, options.openMs ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#openMs) return 'half-open';
    return this.#state;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.#trialRunning))
      throw new CircuitOpenError(`${this.name} circuit is open after ${this.#failures} failures`);
    const trial = state === 'half-open';
    if (trial) this.#trialRunning = true;
    try {
      const result = await call();
      this.#succeeded();
      return result;
    } catch (error) {
      this.#failed(trial, error);
      throw error;
    } finally {
      if (trial) this.#trialRunning = false;
    }
  }

  #succeeded(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') this.#move('closed', undefined);
  }

  #failed(trial: boolean, error: unknown): void {
    this.#failures += 1;
    if (trial || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      this.#openedAt = this.#now();
      this.#move('open', errorMessage(error));
    }
  }

  #move(state: CircuitState, cause: string | undefined): void {
    this.#state = state;
    this.#onStateChange?.(state, cause);
  }
}
