import { parseEntityTags, strongMatch } from "../lib/entity-tags.ts";
import { DomainError } from "../lib/errors.ts";

/**
 * If-Match on subscriber writes (RFC 9110 §13.1.1). A subscriber's ETag is its version, quoted and
 * strong (`"3"`), so:
 * - `*` holds for any stored subscriber;
 * - a list holds when the current version is any listed one: `"1", "2"` applies at version 1 or 2;
 * - strong comparison: a weak tag (`W/"3"`) never matches, nor does a tag that is no version of
 *   ours (`"abc"`); a list of only such tags can never hold, which is a 412, not a 422;
 * - only a header that is not `*` or a list of entity-tags is malformed (422).
 */
export type IfMatch = { any: true } | { versions: number[] };

const VERSION_TAG = /^"([1-9][0-9]{0,9})"$/;

export function parseIfMatch(header: string | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const list = parseEntityTags(header);
  if (!list) {
    throw new DomainError("validation_failed", 'If-Match must be "*" or a list of ETags from reads of this subscriber, such as "3".', {
      fields: [{ field: "If-Match", message: 'must be "*" or entity-tags like "3"' }],
    });
  }
  if (list.any) return { any: true };
  const versions = new Set<number>();
  for (const tag of list.tags) {
    const m = VERSION_TAG.exec(tag.opaque);
    if (m && strongMatch(tag, tag.opaque)) versions.add(Number(m[1]));
  }
  return { versions: [...versions].sort((a, b) => a - b) };
}

/**
 * Versions only grow and a cached version is never ahead of Postgres, so a list whose every version
 * is below the one the edge knows can no longer hold: the edge answers 412 at once.
 */
export const cannotHold = (ifMatch: IfMatch | undefined, knownVersion: number) =>
  ifMatch !== undefined && "versions" in ifMatch && ifMatch.versions.every((v) => v < knownVersion);

/**
 * The queue message's fields for it: `if_match` for one version (the form older consumers read),
 * `if_match_any` for several. `*` needs none: the edge found the subscriber, and a change to a
 * subscriber gone by then fails `not_found` anyway.
 */
export function ifMatchFields(ifMatch: IfMatch | undefined): { if_match?: number; if_match_any?: number[] } {
  if (!ifMatch || "any" in ifMatch || ifMatch.versions.length === 0) return {};
  return ifMatch.versions.length === 1 ? { if_match: ifMatch.versions[0]! } : { if_match_any: ifMatch.versions };
}

/** The consumer's check: a message's If-Match holds at the row's current version. */
export const preconditionHolds = (m: { if_match?: number | undefined; if_match_any?: number[] | undefined }, version: number) =>
  (m.if_match === undefined || m.if_match === version) && (m.if_match_any === undefined || m.if_match_any.includes(version));
