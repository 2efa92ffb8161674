/**
 * The revoked signed keys the edge checks (src/auth/revocations.ts), as data. Bounded: it holds the
 * newest REVOCATION_LIST_MAX revoked ids only, and says from which id on it is complete (`before`);
 * a signed key older than that is looked up by its hash like a key without a signature, so dropping
 * old entries never lets a revoked key back in. Key ids are UUIDv7, so "older" is string order.
 */
export interface RevocationList {
  /** Revoked key ids, newest first; every revoked key whose id is at least `before` is here. */
  ids: string[];
  /** null: the list holds every revoked key. */
  before: string | null;
}

/** About 39 bytes each in JSON: the whole list stays under 40 KB, parsed once per isolate refresh. */
export const REVOCATION_LIST_MAX = 1_000;

/** The list from the newest revoked ids (at most `max + 1` of them, newest first). */
export function revocationListOf(newestFirst: readonly string[], max = REVOCATION_LIST_MAX): RevocationList {
  if (newestFirst.length <= max) return { ids: [...newestFirst], before: null };
  const ids = newestFirst.slice(0, max);
  return { ids, before: ids.at(-1) ?? null };
}

/** What the list says of a key: revoked, not revoked, or too old for it to tell. */
export type Standing = "valid" | "revoked" | "uncovered";

export function standingOf(list: { revoked: ReadonlySet<string>; before: string | null }, keyId: string): Standing {
  if (list.before !== null && keyId < list.before) return "uncovered";
  return list.revoked.has(keyId) ? "revoked" : "valid";
}

/** Whether two lists say the same, so that a settle pass writes only a list that changed. */
export function sameList(a: RevocationList, b: RevocationList): boolean {
  return a.before === b.before && a.ids.length === b.ids.length && a.ids.every((id, i) => id === b.ids[i]);
}

/** A stored value that is not a list (absent, or from another version) reads as none. */
export function asRevocationList(value: unknown): RevocationList | null {
  if (typeof value !== "object" || value === null) return null;
  const { ids, before } = value as Partial<RevocationList>;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) return null;
  if (before !== null && typeof before !== "string") return null;
  return { ids, before };
}
