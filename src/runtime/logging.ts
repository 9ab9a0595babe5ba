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
  // stdout without a write per line: lines that come while a write is under way go out with the
  // next one, so a busy converge does not pay a system call per line; pino writes what is left
  // synchronously when the process exits.
  return pino(options, opts.destination ?? pino.destination({ dest: 1, sync: false }));
}

/** A logger that drops everything, for tests and defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
