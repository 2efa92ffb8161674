/** What a cache key held: its value (null when absent), or that reading it failed. */
export type Held = { ok: true; value: unknown } | { ok: false };

/**
 * What one cache key needs after a change, given what it holds and the row Postgres has (none:
 * removed). KV bills a write at ten reads and takes one a second per key, so a key is written only
 * when what it holds is wrong and a reader would serve it:
 * - a removed subscriber: any copy is deleted (a stale copy answers during an outage, and an erased
 *   person's must go); an absent key or a cached absence is already right;
 * - a stored one: a cached absence is replaced; a copy of an older version is replaced while it is
 *   still fresh (past its freshness no reader serves it while Postgres answers, and the next read
 *   refills it); a newer copy stays (a later change's); an absent key stays absent (reads fill it).
 * A read that failed counts as wrong: the write is the only way to be sure.
 */
export function decide(held: Held, row: { version: number } | undefined, nowMs: number): "put" | "delete" | "keep" {
  if (!held.ok) return row ? "put" : "delete";
  if (held.value === null || typeof held.value !== "object") return "keep";
  const entry = held.value as { v?: { version?: unknown }; f?: unknown };
  if (!row) return entry.v !== undefined ? "delete" : "keep";
  if (entry.v === undefined) return "put";
  const version = entry.v.version;
  if (typeof version === "number" && version >= row.version) return "keep";
  return typeof entry.f === "number" && entry.f * 1000 <= nowMs ? "keep" : "put";
}
