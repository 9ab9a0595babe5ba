import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** trace, debug, info, warn, error, fatal or silent; default info. */
  level?: string;
  /** Extra fields on every line (e.g. the operator's name and version). */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** JSON lines on stdout with ISO timestamps and the level as a word, ready for any log pipeline. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = (opts.level ?? 'info').toLowerCase();
  if (!LEVELS.includes(level))
    throw new Error(`unknown log level "${opts.level}" (one of ${LEVELS.join(', ')})`);
  const options = {
    level: level as LevelWithSilent,
    base: opts.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything, for tests and defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
