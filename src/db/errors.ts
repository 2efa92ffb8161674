import { DrizzleQueryError } from "drizzle-orm/errors";

/** Postgres SQLSTATE of an error from the Neon driver, possibly wrapped by drizzle. */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export const isUniqueViolation = (err: unknown) => pgErrorCode(err) === "23505";

/**
 * True when the database could not be reached or refused work for lack of resources: a dependency
 * failure (503, retry later), as opposed to a bug or a constraint violation. SQLSTATE classes 08
 * (connection), 53 (insufficient resources), 57 (operator intervention / shutdown). A failed query
 * without any SQLSTATE never got an answer from Postgres (socket, WebSocket, timeout).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code) return /^(08|53|57)/.test(code);
  return err instanceof DrizzleQueryError;
}

/**
 * Whether a failed write can ever succeed as it is. Permanent: Postgres answered and refused the
 * data itself. SQLSTATE class 22 (data exception: NUL or an invalid byte sequence in text, a value
 * out of range), class 23 (a CHECK, NOT NULL or foreign key) and 54 (a value too large for an index).
 * A unique violation (23505) is not among them: the check-then-insert re-checks and resolves it.
 * Everything else is transient: no answer at all (socket, timeout), connection and resource classes,
 * serialization failures and deadlocks (40), locks (55), shutdowns (57), and errors we cannot place,
 * which are retried rather than blamed on the data.
 */
export function isPermanentDataError(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (!code || code === "23505") return false;
  return /^(22|23|54)/.test(code);
}
