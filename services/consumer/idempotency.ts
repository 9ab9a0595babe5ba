// Keys of messages already handled, so that a duplicate delivery is deleted without running the
// handler again. A fast path only: a handler whose effects must happen once still needs its own
// guarantee (a unique constraint, a conditional update) for duplicates that arrive concurrently.

export interface IdempotencyStore {
  /** Whether a message with this key was handled already. */
  seen(key: string): Promise<boolean>;
  /** Records that the message with this key was handled. */
  remember(key: string): Promise<void>;
}

/** Per-process store: the most recent `capacity` keys, each forgotten after `ttlMs`. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #keys = new Map<string, number>();
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { capacity?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  seen(key: string): Promise<boolean> {
    const at = this.#keys.get(key);
    if (at === undefined) return Promise.resolve(false);
    if (this.#now() - at > this.#ttlMs) {
      this.#keys.delete(key);
      return Promise.resolve(false);
    }
    return Promise.resolve(true);
  }

  remember(key: string): Promise<void> {
    this.#keys.delete(key);
    this.#keys.set(key, this.#now());
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.keys().next();
      if (oldest.done) break;
      this.#keys.delete(oldest.value);
    }
    return Promise.resolve();
  }

  get size(): number {
    return this.#keys.size;
  }
}
