import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { Logger } from "../lib/log.ts";
import { errorMessage } from "../lib/log.ts";
import type { EdgeCache } from "./edge.ts";
import { hotCache } from "./hot.ts";
import type { Store } from "./store.ts";

/** What cache access needs from the invocation: the store and where to report its failures (a Runtime is one). */
export interface CacheContext {
  readonly cache: Store;
  readonly log: Logger;
  /** This location's Cache API, when reads may keep copies there (a request's Runtime, CACHE_API_READS). */
  readonly edgeReads?: EdgeCache | undefined;
  /** With it, a miss's fill is written after the answer is sent (a Runtime passes ctx.waitUntil here). */
  readonly deferred?: boolean;
  defer?(work: Promise<unknown>): void;
}

export type CacheOutcome = "hit" | "miss" | "error";

/**
 * Cached envelope: `m` marks a cached "not found" so misses for absent keys stay cheap. `f` (epoch
 * seconds) is when a value with a stale allowance stops being fresh; without it, it is fresh until
 * the store expires it.
 */
type Entry<T> = { v: T; f?: number } | { m: 1 };

/** A value and where it came from (shown to clients in Server-Timing). */
export interface Read<T> {
  value: T;
  cache: CacheOutcome;
}

/**
 * Cache-aside: answer from the cache when it has the key (including a cached absence), otherwise load
 * from the source of truth and fill the cache. A failing cache is logged and treated as a miss, so
 * it can slow a read down but never fail it.
 *
 * With `hotSeconds`, found values are also kept in isolate memory (src/lib/isolate-memory.ts) for that long
 * and served from there first: only for entries that may be that stale (immutable subscribers, API
 * key lookups), never for absences. With `edgeReads` as well, this location's Cache API holds a copy
 * that every isolate there asks before KV, under the same bound: a copy is served only while younger
 * than `hotSeconds`, and an isolate keeps it in memory only for what is left of that, so no answer is
 * ever older than `hotSeconds` behind the store, whichever of the two levels gave it.
 */
export async function readThrough<T>(
  rt: CacheContext,
  key: string,
  load: () => Promise<T | undefined>,
  ttl: {
    hitSeconds: number;
    missingSeconds: number;
    hotSeconds?: number;
    fillWithinMs?: number;
    /**
     * Found values stay in the store this much longer than `hitSeconds`, as a copy that outlives the
     * source: once stale, a read asks the source again and serves the stale copy only when
     * `serveStaleOn` says the source failed (an outage). It costs storage, never a write more.
     */
    staleSeconds?: number;
    serveStaleOn?: (err: unknown) => boolean;
    /** With a stale copy at hand, how long the source may take before the copy answers (a hung database). */
    staleWaitMs?: number;
    /**
     * Leave no copy: a miss is not written to the store, nor anything to isolate memory or the Cache
     * API (a write's lookup of its target: KV takes no write for it, and this isolate serves no copy
     * the write is about to change).
     */
    noFill?: boolean;
  },
): Promise<Read<T | undefined>> {
  const { cache, log } = rt;
  const hot = hotEntries;
  // Copies this read may leave in isolate memory and the Cache API.
  const keep = ttl.noFill ? undefined : ttl.hotSeconds;
  const hotKey = `${cache.kind}:${key}`;
  if (ttl.hotSeconds) {
    const remembered = hot.get<T>(hotKey);
    if (remembered !== undefined) return { value: remembered, cache: "hit" };
  }
  // After memory: a request's Cache API handle is built on first use.
  const edge = ttl.hotSeconds ? rt.edgeReads : undefined;
  if (edge && ttl.hotSeconds) {
    const copy = await edge.get<T>(key);
    const left = copy ? ttl.hotSeconds - copy.ageMs / 1000 : 0;
    if (copy && left > 0) {
      if (keep) hot.set(hotKey, copy.value, left);
      return { value: copy.value, cache: "hit" };
    }
  }
  let outcome: CacheOutcome = "miss";
  let stale: { v: T } | undefined;
  try {
    const entry = await cache.get<Entry<T>>(key);
    if (entry) {
      if (!("v" in entry)) return { value: undefined, cache: "hit" };
      if (entry.f === undefined || entry.f * 1000 > Date.now()) {
        if (keep) hot.set(hotKey, entry.v, keep);
        if (edge && keep) later(rt, edge.put(key, entry.v, keep));
        return { value: entry.v, cache: "hit" };
      }
      stale = entry;
    }
  } catch (err) {
    outcome = "error";
    log.warn("cache_error", { op: "get", backend: cache.kind, error: errorMessage(err) });
  }
  const loadStarted = Date.now();
  let value: T | undefined;
  try {
    value = await (stale && ttl.staleWaitMs !== undefined ? within(load(), ttl.staleWaitMs) : load());
  } catch (err) {
    if (!stale || (err !== TOO_SLOW && !ttl.serveStaleOn?.(err))) throw err;
    // The source is down: the stale copy answers, and this isolate keeps it for hotSeconds so that
    // it asks the failing source again at most that often.
    if (ttl.hotSeconds) hot.set(hotKey, stale.v, ttl.hotSeconds);
    return { value: stale.v, cache: "hit" };
  }
  // Gone at the source: a stale copy must not outlive it (a revoked key would answer again in the
  // next outage). A cached absence below overwrites it; without one it is deleted.
  if (stale && value === undefined && ttl.missingSeconds <= 0) await safeDelete({ cache, log }, key);
  // A slow load may have read a state that a writer has since replaced and re-cached: filling the
  // cache with it could undo that writer's cache pass, so it is only returned.
  if (ttl.fillWithinMs !== undefined && Date.now() - loadStarted > ttl.fillWithinMs) return { value, cache: outcome };
  if (outcome !== "error" && !ttl.noFill && (value !== undefined || ttl.missingSeconds > 0) && firstFill(hotKey)) {
    const entry: Entry<T> = value === undefined ? { m: 1 } : cached(value, ttl.staleSeconds ? ttl.hitSeconds : undefined);
    // The fill is started now (its write is counted, this isolate's hot copy dropped) but, where the
    // invocation can finish work after answering, not waited for: the reader has its value, and a
    // KV put is the slowest step of a miss.
    const fill = safePut({ cache, log }, key, entry, value === undefined ? ttl.missingSeconds : ttl.hitSeconds + (ttl.staleSeconds ?? 0));
    if (rt.deferred && rt.defer) rt.defer(fill);
    else await fill;
  }
  // After the fill: safePut drops this isolate's hot copy of the key, which would undo it.
  if (value !== undefined && keep) hot.set(hotKey, value, keep);
  if (value !== undefined && edge && keep) later(rt, edge.put(key, value, keep));
  return { value, cache: outcome };
}

/**
 * KV takes one write a second per key: the concurrent misses of one key in an isolate (a hot key's
 * copy gone stale under load) fill it once, not once each. Plain data, so no request waits on another.
 */
const recentFills = inIsolateMemory(hotCache(5_000), (c) => c.clear());
const FILL_EVERY_SECONDS = 1;

function firstFill(hotKey: string): boolean {
  if (recentFills.get<true>(hotKey)) return false;
  recentFills.set(hotKey, true, FILL_EVERY_SECONDS);
  return true;
}

/** Work the reader need not wait for: after the answer where the invocation allows it. */
function later(rt: CacheContext, work: Promise<unknown>): void {
  if (rt.deferred && rt.defer) rt.defer(work);
  else void work;
}

/** Cache entries that may be a little stale (`hotSeconds`), shared by every cache in this isolate. */
const hotEntries = inIsolateMemory(hotCache(5_000), (c) => c.clear());

const TOO_SLOW = new Error("the source did not answer in time");

/** `work`, or TOO_SLOW after `ms`; a late outcome of `work` is dropped. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  work.catch(() => {});
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(TOO_SLOW), ms)))]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** Reads a cached value directly written by safePut/write-through (no envelope handling). */
export async function safeGet<T>({ cache, log }: CacheContext, key: string): Promise<T | null> {
  try {
    return await cache.get<T>(key);
  } catch (err) {
    log.warn("cache_error", { op: "get", backend: cache.kind, error: errorMessage(err) });
    return null;
  }
}

/** Drops this isolate's hot copy of a key, so the next read here asks the store. */
export function dropHotCopy(cache: Store, key: string): void {
  hotEntries.delete(`${cache.kind}:${key}`);
}

/** Writes the store; this isolate's hot copy of the key is dropped, so it reads what it just wrote. */
export async function safePut({ cache, log }: CacheContext, key: string, value: unknown, ttlSeconds?: number): Promise<boolean> {
  hotEntries.delete(`${cache.kind}:${key}`);
  try {
    await cache.put(key, value, ttlSeconds ? { ttlSeconds } : undefined);
    return true;
  } catch (err) {
    log.warn("cache_error", { op: "put", backend: cache.kind, error: errorMessage(err) });
    return false;
  }
}

/** Deletes from the store and from this isolate's hot memory, so a revocation is seen here at once. */
export async function safeDelete({ cache, log }: CacheContext, key: string): Promise<void> {
  hotEntries.delete(`${cache.kind}:${key}`);
  try {
    await cache.delete(key);
  } catch (err) {
    log.warn("cache_error", { op: "delete", backend: cache.kind, error: errorMessage(err) });
  }
}

/**
 * Wraps a value the way readThrough stores it, for write-through from the consumer. With
 * `freshSeconds`, the entry is stored for longer (readThrough's `staleSeconds`) and marked fresh for
 * that long only.
 */
export const cached = <T>(v: T, freshSeconds?: number): Entry<T> =>
  freshSeconds === undefined ? { v } : { v, f: Math.floor(Date.now() / 1000) + freshSeconds };
