import { safeGet, safePut } from "../cache/read-through.ts";
import { allSearchablePlans } from "../db/repositories/plans.ts";
import { isolateMemory } from "../isolate-memory.ts";
import { strongEtag } from "../lib/crypto.ts";
import type { Runtime } from "../runtime.ts";
import { planCacheKeys, toEventSummary } from "./model.ts";
import type { EventSummary } from "./schema.ts";

/** What the sync writes to the edge cache and /search reads: no database on a warm path. */
interface SearchIndex {
  /** Id of the sync run that built it; also namespaces the /v1/plans cache entries. */
  generation: string;
  built_at: string;
  events: EventSummary[];
}

export interface SearchIndexMemo {
  index: SearchIndex;
  /** "YYYY-MM-DDTHH:MM:SS" per event, same order as events (sorted by start). */
  starts: string[];
  ends: string[];
  loadedAt: number;
  /** Serialised /search bodies (UTF-8) and their ETags by range, so a repeated query costs one map lookup. */
  bodies: Map<string, MemoisedBody>;
  bodyBytes: number;
}

type Body = Uint8Array<ArrayBuffer>;
export interface MemoisedBody {
  body: Body;
  /** Strong validator of `body` (src/lib/crypto.ts strongEtag): hashed once per range and generation. */
  etag: string;
}

/**
 * Isolate-level copy of the index. KV is already eventually consistent (up to ~60 s between
 * locations), so holding it a few seconds more per isolate costs no extra staleness worth
 * mentioning and saves a KV read and a JSON parse per request.
 */
const MEMO_MS = 5_000;
// By size, not count: an unbounded range is the whole index (about 1 MB at 5,000 plans), and an
// isolate has 128 MB for everything.
const MAX_MEMO_BODY_BYTES = 16 * 1024 * 1024;

const held = isolateMemory.searchIndex;

function remember(index: SearchIndex): SearchIndexMemo {
  held.memo = {
    index,
    starts: index.events.map((e) => `${e.start_date}T${e.start_time}`),
    ends: index.events.map((e) => `${e.end_date}T${e.end_time}`),
    loadedAt: Date.now(),
    bodies: new Map(),
    bodyBytes: 0,
  };
  return held.memo;
}

export type IndexSource = "memory" | "cache";

/** The index from this isolate or the edge cache; null when the cache has none (cold or failing). */
export async function loadSearchIndex(rt: Runtime): Promise<{ memo: SearchIndexMemo; source: IndexSource } | null> {
  const memo = held.memo;
  if (memo && Date.now() - memo.loadedAt < MEMO_MS) return { memo, source: "memory" };
  if (memo) {
    // The small generation marker first: the index itself (about 1 MB at 5,000 plans) is fetched
    // and parsed again only when a sync published a new one.
    const generation = await safeGet<string>(rt, planCacheKeys.indexGeneration);
    if (generation === memo.index.generation) {
      memo.loadedAt = Date.now();
      return { memo, source: "cache" };
    }
  }
  const index = await safeGet<SearchIndex>(rt, planCacheKeys.index);
  if (!index) return null;
  if (memo && memo.index.generation === index.generation) {
    memo.loadedAt = Date.now();
    return { memo, source: "cache" };
  }
  return { memo: remember(index), source: "cache" };
}

/** Rebuilds the index from Postgres and publishes it; returns its size for the sync report. */
export async function rebuildSearchIndex(rt: Runtime, generation: string): Promise<{ plans: number; bytes: number; stored: boolean }> {
  const rows = await allSearchablePlans(rt.db());
  const index: SearchIndex = { generation, built_at: new Date().toISOString(), events: rows.map(toEventSummary) };
  const bytes = JSON.stringify(index).length;
  // Index first, marker second: a reader that sees the new marker always finds the new index.
  const stored = (await safePut(rt, planCacheKeys.index, index)) && (await safePut(rt, planCacheKeys.indexGeneration, generation));
  remember(index);
  return { plans: rows.length, bytes, stored };
}

/**
 * The generation /search answers from now, without fetching the index: this isolate's copy while
 * it is fresh, else the small marker in the edge cache (null when the cache has none or fails).
 * A marker that names the generation this isolate already holds renews the copy, so the
 * searchEvents call that usually follows answers from memory without reading the marker again.
 */
export async function currentSearchGeneration(rt: Runtime): Promise<string | null> {
  const memo = held.memo;
  if (memo && Date.now() - memo.loadedAt < MEMO_MS) return memo.index.generation;
  const generation = await safeGet<string>(rt, planCacheKeys.indexGeneration);
  if (memo && generation === memo.index.generation) memo.loadedAt = Date.now();
  return generation;
}

/** The generation whose index this isolate holds in memory, if any: a synchronous look, no I/O. */
export function generationInMemory(): string | null {
  return held.memo?.index.generation ?? null;
}

/** Whether the edge cache holds an index at all (without fetching it). */
export async function searchIndexGeneration(rt: Runtime): Promise<string | null> {
  return safeGet<string>(rt, planCacheKeys.indexGeneration);
}

/** First position whose start is >= from (events are sorted by start). */
function lowerBound(starts: string[], from: string): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as string) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Containment, inclusive at both ends. Bounds are "YYYY-MM-DDTHH:MM:SS" or null for unbounded. */
export function eventsInRange(m: SearchIndexMemo, from: string | null, to: string | null): EventSummary[] {
  const out: EventSummary[] = [];
  for (let i = from === null ? 0 : lowerBound(m.starts, from); i < m.starts.length; i++) {
    // start <= end, so once a start passes `to` no later event can fit.
    if (to !== null && (m.starts[i] as string) > to) break;
    if (to === null || (m.ends[i] as string) <= to) out.push(m.index.events[i] as EventSummary);
  }
  return out;
}

export async function memoisedBody(m: SearchIndexMemo, key: string, build: () => Body): Promise<MemoisedBody> {
  const known = m.bodies.get(key);
  if (known !== undefined) return known;
  const body = build();
  // Concurrent first requests for one range may each hash it; only finished plain data is stored.
  const entry = { body, etag: await strongEtag(body) };
  if (m.bodyBytes + body.byteLength > MAX_MEMO_BODY_BYTES) {
    m.bodies.clear();
    m.bodyBytes = 0;
  }
  if (!m.bodies.has(key)) {
    m.bodies.set(key, entry);
    m.bodyBytes += body.byteLength;
  }
  return entry;
}
