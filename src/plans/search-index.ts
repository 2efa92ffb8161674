import { safeGet } from "../cache/read-through.ts";
import type { PlanRange } from "../db/repositories/plans.ts";
import { ByteLru } from "../lib/byte-lru.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { Runtime } from "../runtime.ts";
import { planCacheKeys } from "./model.ts";
import type { EventSummary } from "./schema.ts";

/**
 * The /search index in the edge cache, split so that a query reads only what it overlaps and a sync
 * rewrites only what it changed. Parts hold the summaries of searchable plans by month of start, in
 * search order (start, id); a month over the part budget is cut further into chunks of consecutive
 * starts, never between two plans with the same start, so parts' start ranges never overlap. A small
 * manifest lists them. Parts are content-addressed (`plans:part:<hash>`): an unchanged part keeps its
 * key, so a new generation reuses it without a write. Built by ./index-build.ts.
 */

export interface PartRef {
  /** Hash of the part's JSON; its key is planCacheKeys.indexPart(hash). */
  hash: string;
  /** "YYYY-MM" of every start in the part. */
  month: string;
  /** Smallest and largest start and largest end in the part ("YYYY-MM-DDTHH:MM:SS"). */
  first: string;
  last: string;
  maxEnd: string;
  plans: number;
  /** Size of the part's value in the cache (UTF-8 JSON). */
  bytes: number;
}

export interface Manifest {
  /** Id of the sync run that last changed plans; also namespaces the /v1/plans cache entries. */
  generation: string;
  built_at: string;
  /** Sorted by start; disjoint start ranges. */
  parts: PartRef[];
  /**
   * Parts a newer manifest no longer lists, with when they left it (ms). A reader may still hold an
   * older manifest (KV is eventually consistent for up to a minute, isolates keep it 5 s), so they
   * are deleted by a later publication only after RETIRED_GRACE_MS.
   */
  retired: { hash: string; at: number }[];
}

/** Parsed part, kept in isolate memory: its events as UTF-8 JSON plus what a range test needs. */
export interface PartMemo {
  /** The events' JSON objects joined by commas (no brackets). */
  bytes: Uint8Array<ArrayBuffer>;
  /** Byte offset of event i; offsets[n] = bytes.length + 1, as if a comma followed the last. */
  offsets: Uint32Array;
  /** Start and end of event i in ms: numbers, so no string of the parsed part stays reachable. */
  starts: Float64Array;
  ends: Float64Array;
}

export interface ManifestMemo {
  manifest: Manifest;
  loadedAt: number;
}

/** A remembered /search body (range within one generation). */
export interface BodyMemo {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/**
 * KV is already eventually consistent (up to ~60 s between locations), so holding the manifest a
 * few seconds more per isolate adds no staleness worth mentioning and saves a KV read per request.
 */
const MEMO_MS = 5_000;
/**
 * This isolate's copy of the index: the manifest, the parts recent queries read, and recent answers
 * (src/plans/search.ts), within 32 MiB together, since an isolate has 128 MB for everything. A wider
 * answer is streamed part by part, never held.
 */
export const searchIndexMemory = inIsolateMemory(
  {
    manifest: null as ManifestMemo | null,
    /** The generation marker as last read, for callers that need only the generation. */
    marker: null as { generation: string | null; loadedAt: number } | null,
    parts: new ByteLru<PartMemo>(22 * 1024 * 1024),
    bodies: new ByteLru<BodyMemo>(8 * 1024 * 1024),
  },
  (m) => {
    m.manifest = null;
    m.marker = null;
    m.parts.clear();
    m.bodies.clear();
  },
);
const held = searchIndexMemory;

export type IndexSource = "memory" | "cache";

/** The generation the edge index last published, as the cache holds it now (no isolate memo): what the status page shows. */
export const publishedIndexGeneration = (rt: Runtime): Promise<string | null> => safeGet<string>(rt, planCacheKeys.indexGeneration);

/** The manifest from this isolate or the edge cache; null when the cache has none (cold or failing). */
export async function loadManifest(rt: Runtime): Promise<{ manifest: Manifest; source: IndexSource } | null> {
  const memo = held.manifest;
  if (memo && Date.now() - memo.loadedAt < MEMO_MS) return { manifest: memo.manifest, source: "memory" };
  if (memo) {
    // The small generation marker first: the manifest is fetched again only when a sync published a new one.
    const generation = await markerWithin(rt);
    if (generation === memo.manifest.generation) {
      memo.loadedAt = Date.now();
      return { manifest: memo.manifest, source: "cache" };
    }
  }
  const manifest = await safeGet<Manifest>(rt, planCacheKeys.indexManifest);
  if (!manifest) return null;
  rememberManifest(manifest);
  return { manifest, source: "cache" };
}

export function rememberManifest(manifest: Manifest): void {
  held.manifest = { manifest, loadedAt: Date.now() };
}

/**
 * The generation /search and /v1/plans answer from: this isolate's manifest or last read of the
 * marker while fresh, else the marker (never the manifest or a part).
 */
export async function searchIndexGeneration(rt: Runtime): Promise<string | null> {
  const now = Date.now();
  const memo = held.manifest;
  if (memo && now - memo.loadedAt < MEMO_MS) return memo.manifest.generation;
  return markerWithin(rt);
}

/** The generation marker as read within MEMO_MS, by /search or /v1/plans alike: one KV read per isolate per 5 s. */
async function markerWithin(rt: Runtime): Promise<string | null> {
  const now = Date.now();
  if (held.marker && now - held.marker.loadedAt < MEMO_MS) return held.marker.generation;
  const generation = await safeGet<string>(rt, planCacheKeys.indexGeneration);
  held.marker = { generation, loadedAt: now };
  return generation;
}

const encoder = new TextEncoder();

/** Bytes an entry costs beyond its JSON: two times and an offset per event. */
const PER_EVENT_OVERHEAD = 20;

/** Provider time ("YYYY-MM-DDTHH:MM:SS", UTC) in ms. */
const msOf = (t: string) => Date.parse(`${t}Z`);

function toPartMemo(events: EventSummary[]): PartMemo {
  const pieces = events.map((e) => encoder.encode(JSON.stringify(e)));
  const offsets = new Uint32Array(events.length + 1);
  let length = 0;
  for (let i = 0; i < pieces.length; i++) {
    offsets[i] = length;
    length += (pieces[i] as Uint8Array).byteLength + 1;
  }
  offsets[pieces.length] = length;
  const bytes = new Uint8Array(Math.max(0, length - 1));
  pieces.forEach((p, i) => {
    bytes.set(p, offsets[i] as number);
    if (i < pieces.length - 1) bytes[(offsets[i + 1] as number) - 1] = 0x2c;
  });
  return {
    bytes,
    offsets,
    starts: Float64Array.from(events, (e) => msOf(`${e.start_date}T${e.start_time}`)),
    ends: Float64Array.from(events, (e) => msOf(`${e.end_date}T${e.end_time}`)),
  };
}

/**
 * The bytes a part contributes to an answer that takes all of it, for streaming: from this isolate
 * when it holds the part, else read and encoded once without being kept, so one wide scan does not
 * push the parts that narrow queries keep reading out of memory.
 */
export async function wholePartBytes(rt: Runtime, ref: PartRef): Promise<Uint8Array<ArrayBuffer> | null> {
  const hit = held.parts.get(ref.hash);
  if (hit) return hit.bytes;
  const events = await safeGet<EventSummary[]>(rt, planCacheKeys.indexPart(ref.hash));
  if (!events) return null;
  const json = encoder.encode(JSON.stringify(events));
  return json.subarray(1, json.byteLength - 1) as Uint8Array<ArrayBuffer>;
}

/** A part from this isolate or the edge cache; null when the cache does not have it (or fails). */
export async function loadPart(rt: Runtime, ref: PartRef): Promise<PartMemo | null> {
  const hit = held.parts.get(ref.hash);
  if (hit) return hit;
  const events = await safeGet<EventSummary[]>(rt, planCacheKeys.indexPart(ref.hash));
  if (!events) return null;
  const memo = toPartMemo(events);
  held.parts.set(ref.hash, memo, memo.bytes.byteLength + events.length * PER_EVENT_OVERHEAD);
  return memo;
}

/** Whether any plan of the part can match: its start range meets [from, to] (a plan starts before it ends). */
export const overlaps = (p: PartRef, r: PlanRange): boolean => (r.from === null || p.last >= r.from) && (r.to === null || p.first <= r.to);

/** Whether every plan of the part matches, so the part's bytes are the answer's bytes unchanged. */
export const within = (p: PartRef, r: PlanRange): boolean => (r.from === null || p.first >= r.from) && (r.to === null || p.maxEnd <= r.to);

/** First position whose start is >= from (a part is sorted by start). */
function lowerBound(starts: Float64Array, from: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The part's events inside the range (containment, inclusive) as comma-joined JSON; empty when none. */
export function selectBytes(part: PartMemo, r: PlanRange): Uint8Array<ArrayBuffer> {
  const to = r.to === null ? Number.POSITIVE_INFINITY : msOf(r.to);
  const runs: [number, number][] = [];
  let runStart = -1;
  const n = part.starts.length;
  let i = r.from === null ? 0 : lowerBound(part.starts, msOf(r.from));
  for (; i < n; i++) {
    // start <= end, so once a start passes `to` no later event can fit.
    if ((part.starts[i] as number) > to) break;
    const fits = (part.ends[i] as number) <= to;
    if (fits && runStart < 0) runStart = i;
    if (!fits && runStart >= 0) {
      runs.push([runStart, i]);
      runStart = -1;
    }
  }
  if (runStart >= 0) runs.push([runStart, i]);
  const slice = ([a, b]: [number, number]) => part.bytes.subarray(part.offsets[a] as number, (part.offsets[b] as number) - 1);
  if (runs.length === 1) return slice(runs[0] as [number, number]);
  const slices = runs.map(slice);
  const out = new Uint8Array(slices.length === 0 ? 0 : slices.reduce((sum, s) => sum + s.byteLength, slices.length - 1));
  let at = 0;
  for (const s of slices) {
    if (at > 0) out[at++] = 0x2c;
    out.set(s, at);
    at += s.byteLength;
  }
  return out;
}
