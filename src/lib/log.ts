export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line, which Workers Logs indexes field by field. Callers emit one line per
 * request, queue batch or cron run and put everything worth knowing into its fields.
 */
export function log(level: LogLevel, event: string, fields: LogFields = {}, minLevel: LogLevel = "info"): void {
  if (rank[level] < rank[minLevel]) return;
  const line = JSON.stringify({ level, event, ts: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** Keeps enough of an address to correlate log lines without writing it out in full. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email[0]}***@${email.slice(at + 1)}`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // Drizzle wraps driver errors ("Failed query: …"); the cause says what actually went wrong.
    const cause = err.cause === undefined || err.cause === err ? "" : ` (cause: ${errorMessage(err.cause)})`;
    return `${err.name}: ${err.message}${cause}`;
  }
  // WebSocket failures from the database driver arrive as ErrorEvent, not Error.
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === "string" && message ? message : String(err);
}
