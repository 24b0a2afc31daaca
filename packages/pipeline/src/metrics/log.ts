/**
 * Structured logging: one JSON object per line on stderr (or a given stream):
 *   {"ts":"2026-01-01T00:00:00.000Z","level":"info","msg":"connected","brokers":"..."}
 * Levels debug < info < warn < error; lines below the logger's level are dropped.
 * The default level comes from HOPWATCH_LOG_LEVEL (default "info").
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (same level and output). */
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (default process.stderr). */
  write?: (line: string) => void;
  /** Fields added to every line, e.g. { component: 'ingest' }. */
  fields?: LogFields;
  /** Clock (tests). */
  now?: () => Date;
}

export function parseLevel(s: string | undefined, dflt: LogLevel = 'info'): LogLevel {
  const l = (s ?? '').toLowerCase();
  return l in RANK ? (l as LogLevel) : dflt;
}

function serializeValue(_key: string, v: unknown): unknown {
  if (v instanceof Error) {
    const o: Record<string, unknown> = { name: v.name, message: v.message };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) o.code = code;
    if (v.cause !== undefined) o.cause = String(v.cause);
    return o;
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  const make = (fields: LogFields, shared: { level: LogLevel }): Logger => {
    const emit = (level: LogLevel, msg: string, extra?: LogFields): void => {
      if (RANK[level] < RANK[shared.level]) return;
      let line: string;
      try {
        line = JSON.stringify(
          { ts: now().toISOString(), level, msg, ...fields, ...extra },
          serializeValue,
        );
      } catch (err) {
        line = JSON.stringify({ ts: now().toISOString(), level, msg, logError: String(err) });
      }
      write(line + '\n');
    };
    const logger: Logger = {
      get level() {
        return shared.level;
      },
      set level(l: LogLevel) {
        shared.level = l;
      },
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...fields, ...f }, shared),
      enabled: (l) => RANK[l] >= RANK[shared.level] && l !== 'silent',
    };
    return logger;
  };
  return make(base, { level: opts.level ?? parseLevel(process.env.HOPWATCH_LOG_LEVEL) });
}

/** Process-wide default logger (stderr, HOPWATCH_LOG_LEVEL). */
export const log: Logger = createLogger();
