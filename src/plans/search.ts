import { searchPlansInRange } from "../db/repositories/plans.ts";
import { isolateMemory } from "../isolate-memory.ts";
import { strongEtag } from "../lib/crypto.ts";
import type { Runtime } from "../runtime.ts";
import { toEventSummary } from "./model.ts";
import { eventsInRange, loadSearchIndex, memoisedBody } from "./search-index.ts";

/** Inclusive bounds in provider time ("YYYY-MM-DDTHH:MM:SS", read as UTC); null = unbounded. */
export interface SearchRange {
  from: string | null;
  to: string | null;
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

// Clients repeat the same bounds (UIs, pollers): a remembered parse skips a regex and two Dates on
// the hottest public route (docs/benchmarks.md, "Profiles"). A pure function, so any lifetime would do.
const parsedBounds = isolateMemory.searchBounds;

/** parseBound, remembered per isolate. */
export function parseBoundCached(value: string, side: "from" | "to"): string | null {
  const key = `${side}|${value}`;
  let parsed = parsedBounds.get<string | null>(key);
  if (parsed === undefined) {
    parsed = parseBound(value, side);
    parsedBounds.set(key, parsed, 3_600);
  }
  return parsed;
}

/**
 * Reads an ISO 8601 date-time bound. With no offset it is UTC, like the provider's times. A bound
 * with fractions of a second is rounded inwards (a start up, an end down) because plan times are
 * whole seconds: the result is the same set of plans and a fixed-width string compares correctly.
 * Returns null when the value is not a real date-time.
 */
function parseBound(value: string, side: "from" | "to"): string | null {
  const m = ISO_DATE_TIME.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = "00", frac, zone] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined,
    string | undefined,
  ];
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  if (parts[3] > 23 || parts[4] > 59 || parts[5] > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const check = new Date(0);
  check.setUTCFullYear(parts[0], parts[1] - 1, parts[2]);
  check.setUTCHours(parts[3], parts[4], parts[5], 0);
  if (check.getUTCMonth() !== parts[1] - 1 || check.getUTCDate() !== parts[2]) return null;
  let ms = check.getTime();
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
    if (Number(digits.slice(0, 2)) > 23 || Number(digits.slice(2, 4)) > 59) return null;
    ms -= sign * offset * 60_000;
  }
  if (frac && Number(frac) > 0 && side === "from") ms += 1_000;
  const iso = new Date(ms).toISOString();
  // Years outside 0001–9999 would break the fixed-width comparison, and Postgres has no year 0.
  if (iso.length !== 24 || iso.startsWith("0000")) return null;
  return iso.slice(0, 19);
}

export type SearchSource = "memory" | "cache" | "database";

const encoder = new TextEncoder();
// TextEncoder always returns a fresh ArrayBuffer; workers-types only says ArrayBufferLike.
const utf8 = (text: string) => encoder.encode(text) as Uint8Array<ArrayBuffer>;

/** /search's answer: its bytes and their strong ETag, the index generation it came from (null from Postgres), and where. */
export interface SearchAnswer {
  etag: string;
  generation: string | null;
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
  source: SearchSource;
}

/**
 * /search's answer as a UTF-8 body. Served from the edge index (this isolate's copy, else the
 * cache); only a cold or failing cache sends it to Postgres. Never calls the provider. Bytes, not a
 * string: a month of plans is ~80 KB, and a Response made from a string re-encodes it every time;
 * the memoised bytes are only copied.
 */
export async function searchEvents(rt: Runtime, range: SearchRange): Promise<SearchAnswer> {
  const loaded = await loadSearchIndex(rt);
  if (loaded) {
    const { body, etag } = await memoisedBody(loaded.memo, `${range.from}|${range.to}`, () =>
      utf8(JSON.stringify({ data: { events: eventsInRange(loaded.memo, range.from, range.to) }, error: null })),
    );
    return { etag, generation: loaded.memo.index.generation, body, source: loaded.source };
  }
  const rows = await searchPlansInRange(rt.db(), range);
  const events = rows.map(toEventSummary);
  const body = utf8(JSON.stringify({ data: { events }, error: null }));
  return { etag: await strongEtag(body), generation: null, body, source: "database" };
}
