/**
 * Request metrics where Analytics Engine is not queried (locally, tests, a deploy without the
 * dataset): each isolate counts its requests per minute and per route group in memory (O(1) per
 * request: a few additions into a fixed array) and writes the minutes it has finished to Postgres
 * at most once per minute (src/status/flush.ts). Pure: every function takes the time it runs at.
 */

import { inIsolateMemory } from "../lib/isolate-memory.ts";

/** Upper bounds of the latency histogram's buckets, in ms; one more bucket above the last is +Inf. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000] as const;
const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export const ROUTE_GROUPS = ["subscribers", "plans", "search", "admin", "webhooks", "web", "health", "other"] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

const MINUTE_MS = 60_000;
/** Finished minutes kept while waiting for the next flush; older ones are dropped (an isolate idle that long has little to say). */
const MAX_PENDING_MINUTES = 10;

/** The route group of a Hono route pattern ("/v1/subscribers/:id_or_email" → subscribers). */
export function routeGroup(route: string): RouteGroup {
  if (route.startsWith("/v1/admin/")) return "admin";
  if (route.startsWith("/v1/subscribers") || route.startsWith("/v1/operations") || route === "/v1/stats") return "subscribers";
  if (route.startsWith("/v1/plans")) return "plans";
  if (route === "/search") return "search";
  if (route.startsWith("/v1/webhooks")) return "webhooks";
  if (route === "/health" || route === "/ready") return "health";
  if (route === "/" || route.startsWith("/assets") || route === "/docs" || route === "/openapi.json" || route.startsWith("/status"))
    return "web";
  return "other";
}

export interface RollupCell {
  count: number;
  /** Responses with a 5xx status. */
  errors: number;
  cacheLookups: number;
  cacheHits: number;
  /** Per-bucket counts (not cumulative), LATENCY_BOUNDS_MS then +Inf. */
  buckets: number[];
  sumMs: number;
}

interface MinuteRollup {
  /** Epoch ms of the minute's start. */
  minute: number;
  cells: Map<RouteGroup, RollupCell>;
}

/** One row of request_rollups. */
export interface RollupRow extends RollupCell {
  isolateId: string;
  minute: Date;
  routeGroup: RouteGroup;
}

export interface RollupState {
  /** Random, chosen on the first request (Workers refuse random values at module load). */
  isolateId: string | null;
  current: MinuteRollup | null;
  /** Finished minutes not yet flushed, oldest first. */
  finished: MinuteRollup[];
  /** When the last flush was started (epoch ms); 0 before the first. */
  lastFlushAt: number;
  /** Flushes started by this isolate (tests and logs). */
  flushes: number;
  /** The clock requests are recorded with: Date.now, or a test's (see test/request-rollups.test.ts). */
  now: () => number;
}

export function createRollupState(): RollupState {
  return { isolateId: null, current: null, finished: [], lastFlushAt: 0, flushes: 0, now: Date.now };
}

/** This isolate's request counts per minute and route group, until flushed. */
export const isolateRollups = inIsolateMemory({ state: createRollupState() }, (m) => {
  m.state = createRollupState();
});

export function emptyCell(): RollupCell {
  return { count: 0, errors: 0, cacheLookups: 0, cacheHits: 0, buckets: new Array<number>(BUCKETS).fill(0), sumMs: 0 };
}

/** The bucket a latency falls in: the first whose upper bound is ≥ ms (Prometheus' `le`). */
export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

export interface RequestSample {
  group: RouteGroup;
  status: number;
  ms: number;
  cache: "hit" | "miss" | "error" | null;
}

/** Adds one request to the minute `now` falls in; a new minute moves the previous one to `finished`. */
export function recordRequest(state: RollupState, now: number, r: RequestSample): void {
  const minute = now - (now % MINUTE_MS);
  let current = state.current;
  // A request timed in an earlier minute than the current one (clocks are not monotonic) counts in the current one.
  if (!current || minute > current.minute) {
    if (current) {
      state.finished.push(current);
      if (state.finished.length > MAX_PENDING_MINUTES) state.finished.shift();
    }
    current = { minute, cells: new Map() };
    state.current = current;
  }
  let cell = current.cells.get(r.group);
  if (!cell) {
    cell = emptyCell();
    current.cells.set(r.group, cell);
  }
  cell.count++;
  if (r.status >= 500) cell.errors++;
  if (r.cache) {
    cell.cacheLookups++;
    if (r.cache === "hit") cell.cacheHits++;
  }
  cell.buckets[bucketIndex(r.ms)]!++;
  cell.sumMs += r.ms;
}

/**
 * The finished minutes as rows, when a flush is due: there is at least one and the last flush was
 * started a minute ago or more. Hands them over (they are forgotten here), so each minute is written
 * once; null otherwise. The current minute is never flushed: it is still being counted.
 */
export function takeDueRows(state: RollupState, now: number): RollupRow[] | null {
  // A minute that ended while no request came is finished too.
  const current = state.current;
  if (current && now - (now % MINUTE_MS) > current.minute) {
    state.finished.push(current);
    state.current = null;
  }
  if (state.finished.length === 0 || now - state.lastFlushAt < MINUTE_MS) return null;
  state.isolateId ??= crypto.randomUUID();
  const rows: RollupRow[] = [];
  for (const m of state.finished) {
    for (const [group, cell] of m.cells) rows.push({ isolateId: state.isolateId, minute: new Date(m.minute), routeGroup: group, ...cell });
  }
  state.finished = [];
  state.lastFlushAt = now;
  state.flushes++;
  return rows;
}

/** Adds b's counts into a (same bucket layout). */
export function mergeInto(a: RollupCell, b: RollupCell): RollupCell {
  a.count += b.count;
  a.errors += b.errors;
  a.cacheLookups += b.cacheLookups;
  a.cacheHits += b.cacheHits;
  a.sumMs += b.sumMs;
  for (let i = 0; i < a.buckets.length; i++) a.buckets[i]! += b.buckets[i] ?? 0;
  return a;
}

/**
 * The q-quantile (0–1) of a histogram of per-bucket counts, as Prometheus' histogram_quantile
 * computes it: find the bucket holding the rank q × total and interpolate linearly inside it (the
 * first bucket from 0). A rank in the +Inf bucket answers the highest finite bound. Null when empty.
 */
export function histogramQuantile(q: number, buckets: readonly number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (below + n >= rank && n > 0) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
