import { base64urlEncode } from "./base64.ts";

/**
 * Entity-tag lists as RFC 9110 §8.8.3 and §13.1 define them: `If-Match` and `If-None-Match` carry
 * "*" or a comma-separated list of entity-tags, each `[W/]"opaque"` where the opaque part is any of
 * %x21, %x23-7E or obs-text (%x80-FF): no space, no DQUOTE, no backslash escapes. A tag may hold
 * commas, so the list is read tag by tag, never split on commas. Empty list elements are allowed
 * (the `#rule` of RFC 9110 §5.6.1).
 */
export interface EntityTag {
  weak: boolean;
  /** The quoted opaque part, quotes included: `"3"`. */
  opaque: string;
}

export type EntityTagList = { any: true } | { any: false; tags: EntityTag[] };

const OWS = /[ \t]*/y;
const TAG = /(W\/)?("[\x21\x23-\x7e\x80-\xff]*")/y;

/** The header's list, or undefined when it is not "*" and not a well-formed list of entity-tags. */
export function parseEntityTags(header: string): EntityTagList | undefined {
  if (header.trim() === "*") return { any: true };
  const tags: EntityTag[] = [];
  let at = 0;
  const skip = (re: RegExp) => {
    re.lastIndex = at;
    const m = re.exec(header);
    if (m) at = re.lastIndex;
    return m;
  };
  for (;;) {
    skip(OWS);
    if (at >= header.length) break;
    if (header[at] === ",") {
      at++;
      continue;
    }
    const m = skip(TAG);
    if (!m) return undefined;
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
    skip(OWS);
    if (at < header.length && header[at] !== ",") return undefined;
  }
  return tags.length > 0 ? { any: false, tags } : undefined;
}

/** Strong comparison (§8.8.3.2), for If-Match: both tags strong and their opaque parts equal. A weak tag never matches. */
export const strongMatch = (tag: EntityTag, current: string) => !tag.weak && !current.startsWith("W/") && tag.opaque === current;

/** Weak comparison (§8.8.3.2), for If-None-Match: the W/ prefixes are ignored. */
export const weakMatch = (tag: EntityTag, current: string) => tag.opaque === (current.startsWith("W/") ? current.slice(2) : current);

/**
 * A strong entity-tag for these exact bytes: the quoted base64url SHA-256. Equal bytes give equal
 * tags in every isolate and after every restart, so a validator a client holds stays good until the
 * answer itself changes.
 */
export async function strongEtag(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return `"${base64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))}"`;
}
