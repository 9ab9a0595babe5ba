// The loop of an outbox relay: every few seconds, publish what the database says is owed. A
// failure is logged and tried again on the next round; the circuit breaker around publishing keeps
// an outage from being hammered.
import { errorMessage, type Logger } from '../consumer/index.ts';

export interface RelayLoop {
  /** Runs one round now (tests); resolves with how many were published. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startRelayLoop(
  what: string,
  round: () => Promise<number>,
  everyMs: number,
  logger: Logger,
): RelayLoop {
  let running: Promise<number> = Promise.resolve(0);
  let busy = false;
  const runOnce = () => {
    if (busy) return running;
    busy = true;
    running = round()
      .then(
        (count) => {
          if (count > 0) logger.info({ count }, `relayed unpublished ${what}`);
          return count;
        },
        (error: unknown) => {
          logger.warn({ err: errorMessage(error) }, `relaying ${what} failed; trying again later`);
          return 0;
        },
      )
      .finally(() => {
        busy = false;
      });
    return running;
  };
  const timer = setInterval(() => void runOnce(), everyMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
