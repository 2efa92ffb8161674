// The scale bench's HTTP paths, each measured one request at a time (latency, not throughput) through
// the Worker's public routes, every request a cache miss unless the path is the warm /search.
import type pg from "pg";
import { encodeCursor } from "../../../src/lib/pagination.ts";
import type { AppInstance } from "./scale-stack.ts";
import { cacheKv } from "./scale-stack.ts";

export interface PathResult {
  p50_ms: number;
  p90_ms: number;
  samples: number;
  /** Cache outcomes the app reported (Server-Timing), and anything else the path verified. */
  checks: Record<string, unknown>;
}

const PAGE = 25;
const DEEP_PAGES = 10_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

export function summarise(ms: number[], checks: Record<string, unknown>): PathResult {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 0.5)), p90_ms: round(percentile(sorted, 0.9)), samples: ms.length, checks };
}

const cacheOutcome = (res: Response) => /cache;desc="?(\w+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? "none";

/**
 * `samples` requests one after another (after `warmup` more, not counted), request i built by
 * `request(i)`; each answer must be 200 and pass `check`. Counts the cache outcomes.
 */
export async function sampleRequests(
  app: AppInstance,
  opts: { samples: number; warmup?: number; headers?: Record<string, string> },
  request: (i: number) => string,
  check: (body: unknown, i: number) => void = () => {},
): Promise<PathResult> {
  const warmup = opts.warmup ?? 5;
  const ms: number[] = [];
  const cache: Record<string, number> = {};
  for (let i = 0; i < warmup + opts.samples; i++) {
    const path = request(i);
    const started = performance.now();
    const res = await fetch(new URL(path, app.url), { headers: opts.headers ?? {} });
    const text = await res.text();
    const took = performance.now() - started;
    if (res.status !== 200) throw new Error(`${path.split("?")[0]}: ${res.status} ${text.slice(0, 200)}`);
    check(JSON.parse(text), i);
    if (i < warmup) continue;
    ms.push(took);
    const outcome = cacheOutcome(res);
    cache[outcome] = (cache[outcome] ?? 0) + 1;
  }
  return summarise(ms, { cache });
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** A distinct instant per request, later than every seeded row: a bound that filters nothing but makes each list query its own cache entry. */
const bustBefore = (i: number) => new Date(Date.UTC(2030, 0, 1) + i).toISOString();

interface ListBody {
  data: Array<{ id: string }>;
  meta: { next_cursor: string | null };
}

/** `n` subscribers spread over the whole table (a repeatable sample, so each size asks for the same kind of rows). */
async function sampleSubscribers(pool: pg.Pool, n: number, seed: number): Promise<Array<{ id: string; email: string }>> {
  const { rows: est } = await pool.query<{ n: number }>("select reltuples::float8 as n from pg_class where relname = 'subscribers'");
  const pct = Math.min(100, (n * 4 * 100) / Math.max(1, est[0]?.n ?? 0));
  const { rows } = await pool.query<{ id: string; email: string }>(
    `select id, email from subscribers tablesample bernoulli (${pct}) repeatable (${seed}) order by md5(id::text) limit $1`,
    [n],
  );
  if (rows.length < n) throw new Error(`only ${rows.length} of ${n} subscribers sampled`);
  return rows;
}

/** GET /v1/subscribers/{id} for ids that exist in Postgres and were never read (a fresh instance's KV is empty). */
export async function subscriberMiss(app: AppInstance, pool: pg.Pool, readKey: string, samples: number): Promise<PathResult> {
  const rows = await sampleSubscribers(pool, samples + 5, 7);
  return sampleRequests(
    app,
    { samples, headers: bearer(readKey) },
    (i) => `/v1/subscribers/${rows[i]!.id}`,
    (body, i) => {
      if ((body as { data: { id: string } }).data.id !== rows[i]!.id) throw new Error("subscriber miss: wrong subscriber");
    },
  );
}

/** The list filters measured, each on page 1; `i` makes every request a distinct query. */
function listFilters(emails: string[]): Record<string, (i: number) => string> {
  const q = (params: string, i: number) => `/v1/subscribers?limit=${PAGE}&${params}&created_before=${bustBefore(i)}`;
  return {
    "list page 1": (i) => q("sort=created_at", i),
    "list ?status=unsubscribed": (i) => q("status=unsubscribed", i),
    "list ?status=bounced": (i) => q("status=bounced", i),
    "list ?email=": (i) => `/v1/subscribers?email=${encodeURIComponent(emails[i % emails.length]!)}&limit=${PAGE}`,
    "list ?created_after=2026-06-01": (i) => q("created_after=2026-06-01T00:00:00Z", i),
    // The bound itself moves by a millisecond per request.
    "list ?created_before=2020-01-01": (i) =>
      `/v1/subscribers?limit=${PAGE}&created_before=${new Date(Date.UTC(2020, 0, 1) + i).toISOString()}`,
    "list ?updated_since=2026-06-01": (i) => q("updated_since=2026-06-01T00:00:00Z", i),
    "list ?sort=updated_at": (i) => q("sort=updated_at", i),
    "list ?sort=updated_at&status=active": (i) => q("sort=updated_at&status=active", i),
  };
}

/** Page 1 and every filter, plus the page DEEP_PAGES pages deep (or the deepest a small size has). */
export async function listPaths(app: AppInstance, pool: pg.Pool, readKey: string, samples: number): Promise<Record<string, PathResult>> {
  const out: Record<string, PathResult> = {};
  const warmup = 5;
  const emails = (await sampleSubscribers(pool, samples + warmup, 11)).map((r) => r.email);
  for (const [name, path] of Object.entries(listFilters(emails))) {
    out[name] = await sampleRequests(app, { samples, warmup, headers: bearer(readKey) }, path, (body) => {
      const b = body as ListBody;
      if (name === "list ?email=" ? b.data.length !== 1 : b.data.length !== PAGE) throw new Error(`${name}: ${b.data.length} rows`);
    });
  }
  out["list page 10,000 deep"] = await deepPage(app, pool, readKey, samples, warmup);
  return out;
}

/**
 * The page DEEP_PAGES × 25 rows down the default order (created_at, id newest first): its cursor is
 * built from the row just above it, found with SQL and encoded as src/subscribers/list.ts does, one
 * distinct row per request so each is a cache miss; the page's first row must be the next one down.
 */
async function deepPage(app: AppInstance, pool: pg.Pool, readKey: string, samples: number, warmup: number): Promise<PathResult> {
  const { rows: count } = await pool.query<{ n: number }>("select count(*)::int as n from subscribers");
  const need = samples + warmup + 1;
  const offset = Math.max(0, Math.min(DEEP_PAGES * PAGE - 1, count[0]!.n - PAGE - need));
  const { rows } = await pool.query<{ created_at: Date; id: string }>(
    "select created_at, id from subscribers order by created_at desc, id desc offset $1 limit $2",
    [offset, need],
  );
  const result = await sampleRequests(
    app,
    { samples, warmup, headers: bearer(readKey) },
    (i) =>
      `/v1/subscribers?limit=${PAGE}&cursor=${encodeCursor({ s: "created_at", t: rows[i]!.created_at.toISOString(), i: rows[i]!.id })}`,
    (body, i) => {
      const b = body as ListBody;
      if (b.data.length !== PAGE || b.data[0]!.id !== rows[i + 1]!.id) throw new Error("deep page: not the rows after the cursor");
    },
  );
  result.checks.pages_deep = Math.floor((offset + 1) / PAGE);
  return result;
}

/** GET /v1/stats with its cached answer removed before each request, so every one computes the counts. */
export async function statsPath(app: AppInstance, readKey: string, samples: number): Promise<PathResult> {
  const kv = await cacheKv(app);
  const ms: number[] = [];
  const cache: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i < samples + 2; i++) {
    const cached = await kv.list({ prefix: "stats" });
    for (const k of cached.keys) await kv.delete(k.name);
    const started = performance.now();
    const res = await fetch(new URL("/v1/stats", app.url), { headers: bearer(readKey) });
    const body = (await res.json()) as { data: { subscribers: { total: number } } };
    const took = performance.now() - started;
    if (res.status !== 200) throw new Error(`stats: ${res.status}`);
    total = body.data.subscribers.total;
    if (i < 2) continue;
    ms.push(took);
    const outcome = cacheOutcome(res);
    cache[outcome] = (cache[outcome] ?? 0) + 1;
  }
  return summarise(ms, { cache, subscribers_total: total });
}

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, "0")}`);
export const searchPath = (i: number) => {
  const month = MONTHS[i % MONTHS.length]!;
  return `/search?starts_at=${month}-01T00:00:00Z&ends_at=${month}-28T23:59:59Z`;
};
type SearchBody = { data: { events: unknown[] } };

/** /search over the twelve months of 2022, cycling: the index in isolate memory or the edge cache. */
export async function searchWarm(app: AppInstance, samples: number): Promise<PathResult> {
  const events: number[] = [];
  const r = await sampleRequests(app, { samples, warmup: MONTHS.length }, searchPath, (body, i) => {
    if (i < MONTHS.length) events.push((body as SearchBody).data.events.length);
  });
  // The same at every size: the history lies before 2022.
  r.checks.events_per_month = events;
  return r;
}

/**
 * /search as the first request for plans on a new isolate: a new workerd process whose KV holds a
 * copy of every entry the measured instance's KV holds (what a fresh isolate in a warm location sees).
 */
export async function searchCold(
  app: AppInstance,
  startApp: () => Promise<AppInstance>,
  samples: number,
): Promise<PathResult & { copiedKeys: number }> {
  const source = await cacheKv(app);
  const names = await kvKeys(app);
  const ms: number[] = [];
  const sources: Record<string, number> = {};
  for (let i = 0; i < samples; i++) {
    const fresh = await startApp();
    try {
      const target = await cacheKv(fresh);
      for (const name of names) {
        const { value, metadata } = await source.getWithMetadata(name, "arrayBuffer");
        if (value !== null) await target.put(name, value, metadata === null ? {} : { metadata });
      }
      // The isolate itself is started first: this measures the index's cold path, not script start-up.
      await (await fetch(new URL("/health", fresh.url))).arrayBuffer();
      const started = performance.now();
      const res = await fetch(new URL(searchPath(i), fresh.url));
      const body = (await res.json()) as SearchBody;
      ms.push(performance.now() - started);
      if (res.status !== 200 || body.data.events.length === 0) throw new Error(`search cold: ${res.status}`);
      const outcome = cacheOutcome(res);
      sources[outcome] = (sources[outcome] ?? 0) + 1;
    } finally {
      await fresh.mf.dispose();
    }
  }
  return { ...summarise(ms, { cache: sources }), copiedKeys: names.length };
}

/** Every key in the instance's CACHE namespace. */
export async function kvKeys(app: AppInstance): Promise<string[]> {
  const kv = await cacheKv(app);
  const names: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list(cursor === undefined ? {} : { cursor });
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names;
    cursor = page.cursor;
  }
}
