// JSON log lines on stdout: ISO time, the level as a word, the service's name, and the trace id
// of the work in progress on every line written inside it.
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { currentTraceId } from './trace.ts';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options = {
    level: level as LevelWithSilent,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: () => {
      const traceId = currentTraceId();
      return traceId ? { traceId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
