import { count } from "./meter.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line, which Workers Logs indexes field by field. Every line honours LOG_LEVEL
 * and carries the context of its invocation (request_id, batch_id or run_id), so a service's line
 * can be joined to the request, batch or cron run it belongs to.
 */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** The same logger, its lines also carrying `fields`. */
  with(fields: LogFields): Logger;
  /** The same logger, its lines never sampled out (`sample_rate` 1): for a line that reports a failure. */
  unsampled(): Logger;
}

/**
 * A request's lines are a sample: debug and info lines are written only if the request was kept
 * (decided once, src/lib/sampling.ts), warn and error lines always. Each line says the rate it was
 * kept at (`sample_rate`, 1 for a line never sampled out), so a count of lines times 1/sample_rate
 * estimates the population. A line not written is not a log event; the units the request spends are
 * metered all the same.
 */
export interface LineSampling {
  rate: number;
  kept: boolean;
}

export function createLogger(minLevel: LogLevel, context: LogFields = {}, sampling?: LineSampling): Logger {
  const write =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (rank[level] < rank[minLevel]) return;
      const rate = sampling && rank[level] < rank.warn ? sampling.rate : 1;
      if (rate < 1 && !sampling?.kept) return;
      count("log_events");
      const sampled = sampling && { sample_rate: rate };
      const line = JSON.stringify({ level, event, ts: new Date().toISOString(), ...context, ...sampled, ...fields });
      if (level === "error") console.error(line);
      else if (level === "warn") console.warn(line);
      else console.log(line);
    };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    with: (fields) => createLogger(minLevel, { ...context, ...fields }, sampling),
    unsampled: () => createLogger(minLevel, context, sampling && { rate: 1, kept: true }),
  };
}

const EMAIL = /[^\s"'<>()[\]{},;:]+@[^\s"'<>()[\]{},;:]+/g;
const QUOTED = /"[^"]*"|'[^']*'/g;
const MAX_MESSAGE = 300;

/**
 * Error messages may quote the data that caused them: drizzle appends every SQL parameter
 * ("params: mallory@…,Mallory,…"), Postgres quotes the offending value ("invalid input syntax for
 * type uuid: \"…\""), JSON.parse quotes the input. So a message is cut before any parameter list,
 * quoted parts and anything shaped like an email are replaced, and it is truncated. The SQLSTATE,
 * when there is one, says more than the text anyway.
 */
function redact(message: string): string {
  // Drizzle's "Failed query: <sql>\nparams: <values>": the statement is in the code, the values are data.
  if (message.startsWith("Failed query:")) return "Failed query";
  const params = message.search(/\n\s*params:/);
  const kept = params >= 0 ? message.slice(0, params) : message;
  const clean = kept.replace(EMAIL, "<email>").replace(QUOTED, "<value>").replace(/\s+/g, " ").trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}…` : clean;
}

/** A log-safe description of any thrown value: name, SQLSTATE if any, redacted message, cause chain. */
export function errorMessage(err: unknown, depth = 0): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const sqlstate = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? ` [${code}]` : "";
    // Drizzle wraps driver errors ("Failed query: …"); the cause says what actually went wrong.
    const cause = err.cause === undefined || err.cause === err || depth >= 3 ? "" : ` (cause: ${errorMessage(err.cause, depth + 1)})`;
    return `${err.name}${sqlstate}: ${redact(err.message)}${cause}`;
  }
  // WebSocket failures from the database driver arrive as ErrorEvent, not Error.
  const message = (err as { message?: unknown } | null)?.message;
  return redact(typeof message === "string" && message ? message : String(err));
}
