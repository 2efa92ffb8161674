import { hotCache } from "../cache/hot.ts";
import type { PlanRange } from "../db/repositories/plans.ts";
import { searchPlansInRange } from "../db/repositories/plans.ts";
import { base64urlEncode } from "../lib/base64.ts";
import { strongEtag } from "../lib/entity-tags.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { Runtime } from "../runtime.ts";
import { toEventSummary } from "./model.ts";
import type { PartMemo, PartRef } from "./search-index.ts";
import {
  loadManifest,
  loadPart,
  overlaps,
  searchIndexGeneration,
  searchIndexMemory,
  selectBytes,
  wholePartBytes,
  within,
} from "./search-index.ts";

/** The bounds a search is given: the plans' one range type. */
export type SearchRange = PlanRange;

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

// Clients repeat the same bounds (UIs, pollers): a remembered parse skips a regex and two Dates on
// the hottest public route (docs/benchmarks.md, "Profiles"). A pure function, so any lifetime would do.
const parsedBounds = inIsolateMemory(hotCache(1_024), (c) => c.clear());

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

/**
 * /search's answer. `etag` is a strong validator: equal tags mean equal bytes. `generation` is the
 * index generation it was read from (null when read from Postgres).
 */
export interface SearchAnswer {
  etag: string;
  generation: string | null;
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;
  source: SearchSource;
}

const encoder = new TextEncoder();
// TextEncoder always returns a fresh ArrayBuffer; workers-types only says ArrayBufferLike.
const utf8 = (text: string) => encoder.encode(text) as Uint8Array<ArrayBuffer>;
const HEAD = utf8('{"data":{"events":[');
const TAIL = utf8(']},"error":null}');
const COMMA = utf8(",");

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** The generation /search would answer from now (no part read): what HTTP caches key on. */
export function currentSearchGeneration(rt: Runtime): Promise<string | null> {
  return searchIndexGeneration(rt);
}

/**
 * /search's answer, from the edge index: the manifest names the parts whose start range meets the
 * range, and only those are read (this isolate's copy, else the cache). An answer that spans at most
 * two parts' worth of bytes is built in memory and remembered; a wider one (an unbounded range over
 * years of plans) is streamed part by part and never held whole. Only a cold or failing cache sends
 * a query to Postgres. Never calls the provider.
 */
export async function searchEvents(rt: Runtime, range: SearchRange): Promise<SearchAnswer> {
  const loaded = await loadManifest(rt);
  if (loaded) {
    const { manifest, source } = loaded;
    const parts = manifest.parts.filter((p) => overlaps(p, range));
    const bytes = parts.reduce((n, p) => n + p.bytes, 0);
    const answer =
      bytes <= 2 * rt.config.searchIndexPartBytes
        ? await inMemory(rt, manifest.generation, parts, range)
        : await streamed(rt, parts, range);
    if (answer) return { ...answer, generation: manifest.generation, source };
    // A part the manifest lists could not be read (the cache fails): Postgres has the answer.
  }
  const rows = await searchPlansInRange(rt.reader(), range);
  const body = utf8(JSON.stringify({ data: { events: rows.map(toEventSummary) }, error: null }));
  return { body, etag: await strongEtag(body), generation: null, source: "database" };
}

function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Whether this isolate holds the answer for this generation and range already built: then it is the
 * fastest level and nothing in front of it (the Cache API) is worth asking. A synchronous look, no I/O.
 */
export function answerInMemory(generation: string, range: SearchRange): boolean {
  return searchIndexMemory.bodies.get(bodyKey(generation, range)) !== undefined;
}

const bodyKey = (generation: string, range: SearchRange) => `${generation}|${range.from}|${range.to}`;

async function inMemory(rt: Runtime, generation: string, refs: PartRef[], range: SearchRange) {
  const bodies = searchIndexMemory.bodies;
  const key = bodyKey(generation, range);
  const hit = bodies.get(key);
  if (hit) return hit;
  const parts = await Promise.all(refs.map((ref) => loadPart(rt, ref)));
  if (parts.some((p) => p === null)) return null;
  const chunks: Uint8Array[] = [HEAD];
  for (const part of parts as PartMemo[]) {
    const selected = selectBytes(part, range);
    if (selected.byteLength === 0) continue;
    if (chunks.length > 1) chunks.push(COMMA);
    chunks.push(selected);
  }
  chunks.push(TAIL);
  const body = concat(chunks);
  const memo = { body, etag: await strongEtag(body) };
  bodies.set(key, memo, body.byteLength + key.length * 2 + 64);
  return memo;
}

/**
 * The tag of a streamed answer is known before its first byte: a hash over, per part it spans, the
 * part's content hash when the whole part is in range, else the hash of the bytes it contributes. A
 * change outside the range leaves the tag as it was; any change inside changes it.
 */
async function streamed(rt: Runtime, refs: PartRef[], range: SearchRange) {
  const tags: string[] = [];
  for (const ref of refs) {
    if (within(ref, range)) {
      tags.push(`w${ref.hash}`);
      continue;
    }
    const part = await loadPart(rt, ref);
    if (!part) return null;
    tags.push(`p${base64urlEncode(await sha256(selectBytes(part, range)))}`);
  }
  const etag = await strongEtag(utf8(tags.join(",")));
  let next = 0;
  let wrote = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(HEAD);
      },
      // One part per pull: the reader's pace decides how much is in memory, never the whole answer.
      async pull(controller) {
        while (next < refs.length) {
          const ref = refs[next++] as PartRef;
          const whole = within(ref, range);
          const part = whole ? await wholePartBytes(rt, ref) : await loadPart(rt, ref);
          if (!part) {
            // Headers are gone: cutting the body short is the only honest signal left.
            rt.log.warn("search_part_unavailable", { part: ref.hash });
            controller.error(new Error("a search index part could not be read"));
            return;
          }
          const selected = part instanceof Uint8Array ? part : selectBytes(part, range);
          if (selected.byteLength === 0) continue;
          if (wrote) controller.enqueue(COMMA);
          controller.enqueue(selected);
          wrote = true;
          return;
        }
        controller.enqueue(TAIL);
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return { etag, body };
}
