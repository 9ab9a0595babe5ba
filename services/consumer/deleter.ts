// Deletes handled messages in batches of up to 10, retrying the entries SQS failed to delete for
// a reason of its own and giving up on those it refuses (an expired receipt handle: the message
// will be delivered again, and the idempotency key catches it).
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import type { BatchEntry, QueueClient } from './queue.ts';

const BATCH_LIMIT = 10;
const MAX_ATTEMPTS = 3;

interface Pending {
  entry: BatchEntry;
  attempts: number;
  resolve: (deleted: boolean) => void;
}

export class DeleteBatcher {
  readonly #queue: QueueClient;
  readonly #logger: Logger;
  readonly #lingerMs: number;
  readonly #onError: (operation: string) => void;
  readonly #nothingMoreSoon: () => boolean;
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    queue: QueueClient,
    logger: Logger,
    options: {
      lingerMs?: number;
      onError?: (operation: string) => void;
      /** True when no further delete can come soon (nothing else is being handled): send at once. */
      nothingMoreSoon?: () => boolean;
    } = {},
  ) {
    this.#queue = queue;
    this.#logger = logger;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#onError = options.onError ?? (() => undefined);
    this.#nothingMoreSoon = options.nothingMoreSoon ?? (() => false);
  }

  /** Resolves true once SQS deleted the message, false when it could not be deleted. */
  delete(entry: BatchEntry): Promise<boolean> {
    return new Promise((resolve) => {
      this.#pending.push({ entry, attempts: 0, resolve });
      this.#schedule();
    });
  }

  /** Sends everything pending and resolves when every entry has an answer. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, BATCH_LIMIT);
      this.#flushing = this.#flushing.then(() => this.#send(batch));
      await this.#flushing;
    }
    await this.#flushing;
  }

  #schedule(): void {
    if (this.#pending.length >= BATCH_LIMIT || this.#nothingMoreSoon()) {
      void this.flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#lingerMs);
  }

  async #send(batch: Pending[]): Promise<void> {
    let failures;
    try {
      failures = await this.#queue.deleteBatch(batch.map((p) => p.entry));
    } catch (error) {
      this.#onError('delete');
      this.#logger.warn({ err: errorMessage(error), count: batch.length }, 'DeleteMessageBatch failed');
      this.#retry(batch);
      return;
    }
    const failedById = new Map(failures.map((f) => [f.id, f]));
    const retry: Pending[] = [];
    for (const pending of batch) {
      const failure = failedById.get(pending.entry.id);
      if (!failure) pending.resolve(true);
      else if (failure.senderFault) {
        this.#onError('delete');
        this.#logger.warn(
          { code: failure.code },
          'SQS refused to delete a message; it will be delivered again and recognised as a duplicate',
        );
        pending.resolve(false);
      } else retry.push(pending);
    }
    if (retry.length > 0) {
      this.#onError('delete');
      this.#retry(retry);
    }
  }

  #retry(batch: Pending[]): void {
    for (const pending of batch) {
      pending.attempts += 1;
      if (pending.attempts >= MAX_ATTEMPTS) pending.resolve(false);
      else this.#pending.push(pending);
    }
    if (this.#pending.length > 0) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, 100);
    }
  }
}
