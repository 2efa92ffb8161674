import { DrizzleQueryError } from "drizzle-orm/errors";
import { DomainError } from "../lib/errors.ts";

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
 * Whether Postgres answered and refused this statement for what it holds, so that retrying the same
 * set can never succeed: a data exception (22: NUL or an invalid byte sequence in text, a value out
 * of range), a constraint (23: CHECK, NOT NULL, a primary key another message already took), a
 * cardinality violation (21), a value too large for an index (54), or anything else it answered
 * that is not about its own state. Transient, and retried: no answer at all (socket, timeout,
 * DrizzleQueryError without SQLSTATE), connection (08), transaction state (25), serialization
 * failures and deadlocks (40), resources (53), locks (55), shutdowns (57), system and internal
 * errors (58, XX). A refused set is bisected down to the message that causes it, which is then
 * kept as a dead letter: a bug that made every statement fail is therefore seen at once, as
 * dead letters an operator can replay, instead of as days of retries.
 */
export function isRefusedByDatabase(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code !== undefined && !/^(08|25|40|53|55|57|58|XX)/.test(code);
}

/** Postgres did not answer, raw or already mapped to the 503 problem: where an edge copy may stand in (docs/operations.md "Retries, outages and dead letters"). */
export const isDatabaseDown = (err: unknown) => isDatabaseUnavailable(err) || (err instanceof DomainError && err.code === "unavailable");
