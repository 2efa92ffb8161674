// The scale bench's paths. Each is measured one request (or run) at a time: latency and CPU, not
// throughput. A path is set up on every size, then its samples are taken in turn across the sizes
// (sample i on 10k, on 1M, on 10M, then i + 1…), so the load other work puts on this shared machine
// falls on every size alike instead of on whichever size ran while it peaked.
import type pg from "pg";
import { encodeCursor } from "../../../src/lib/pagination.ts";
import type { AppInstance } from "../miniflare-app.ts";
import { cacheKv } from "../miniflare-app.ts";
import type { ProviderStandin } from "../provider-standin.ts";

/** One size's app and data, as a path needs them. */
export interface SizeContext {
  app: AppInstance;
  pool: pg.Pool;
  readKey: string;
  adminKey: string;
  provider: ProviderStandin;
  /** Another, fresh instance of the app on the same database (new workerd process, empty KV). */
  startApp(): Promise<AppInstance>;
  runId: string;
}

/** Sample i's figures, by table row (most paths have one: its latency), and the cache outcome the app reported. */
interface Sample {
  values: Record<string, number>;
  outcome?: string;
}

export interface Sampler {
  sample(i: number): Promise<Sample>;
  /** What the path verified or noticed, reported once all samples are in. */
  checks?(): Record<string, unknown>;
  /** Releases what setup started (another app instance). */
  close?(): Promise<void>;
}

export interface PathDef {
  name: string;
  /** Samples not counted (connections, compile, first fills), taken before the counted ones, also in turn. */
  warmup: number;
  /** Counted samples, from the run's --samples. */
  samples(base: number): number;
  setup(ctx: SizeContext, count: number): Promise<Sampler>;
}

const PAGE = 25;
const DEEP_PAGES = 10_000;

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const cacheOutcome = (res: Response) => /cache;desc="?(\w+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? "none";

/** A GET whose latency is the row `row`; the answer must be 200 and pass `check`. */
function httpSampler(
  ctx: SizeContext,
  row: string,
  path: (i: number) => string,
  opts: { key?: string; check?: (body: unknown, i: number) => void } = {},
): Sampler {
  return {
    async sample(i) {
      const url = path(i);
      const started = performance.now();
      const res = await fetch(new URL(url, ctx.app.url), { headers: opts.key ? bearer(opts.key) : {} });
      const text = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`${url.split("?")[0]}: ${res.status} ${text.slice(0, 200)}`);
      opts.check?.(JSON.parse(text), i);
      return { values: { [row]: ms }, outcome: cacheOutcome(res) };
    },
  };
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
const subscriberMiss: PathDef = {
  name: "GET /v1/subscribers/{id} miss",
  warmup: 5,
  samples: (n) => n,
  async setup(ctx, count) {
    const rows = await sampleSubscribers(ctx.pool, count + 5, 7);
    return httpSampler(ctx, "GET /v1/subscribers/{id} miss", (i) => `/v1/subscribers/${rows[i]!.id}`, {
      key: ctx.readKey,
      check: (body, i) => {
        if ((body as { data: { id: string } }).data.id !== rows[i]!.id) throw new Error("subscriber miss: wrong subscriber");
      },
    });
  },
};

interface ListBody {
  data: Array<{ id: string }>;
}

/** A distinct instant per request, later than every seeded row: a bound that filters nothing but makes each list query its own cache entry. */
const bustBefore = (i: number) => new Date(Date.UTC(2030, 0, 1) + i).toISOString();

/** Page 1 with `params` (every request a distinct query, so a cache miss). */
function listPath(name: string, params: string): PathDef {
  return {
    name,
    warmup: 5,
    samples: (n) => n,
    async setup(ctx) {
      return httpSampler(ctx, name, (i) => `/v1/subscribers?limit=${PAGE}&${params}&created_before=${bustBefore(i)}`, {
        key: ctx.readKey,
        check: (body) => {
          if ((body as ListBody).data.length !== PAGE) throw new Error(`${name}: ${(body as ListBody).data.length} rows`);
        },
      });
    },
  };
}

const listByEmail: PathDef = {
  name: "list ?email=",
  warmup: 5,
  samples: (n) => n,
  async setup(ctx, count) {
    const emails = (await sampleSubscribers(ctx.pool, count + 5, 11)).map((r) => r.email);
    return httpSampler(ctx, "list ?email=", (i) => `/v1/subscribers?email=${encodeURIComponent(emails[i]!)}&limit=${PAGE}`, {
      key: ctx.readKey,
      check: (body) => {
        if ((body as ListBody).data.length !== 1) throw new Error(`list ?email=: ${(body as ListBody).data.length} rows`);
      },
    });
  },
};

/** The bound itself moves by a millisecond per request. */
const listCreatedBefore: PathDef = {
  name: "list ?created_before=2020-01-01",
  warmup: 5,
  samples: (n) => n,
  async setup(ctx) {
    return httpSampler(
      ctx,
      "list ?created_before=2020-01-01",
      (i) => `/v1/subscribers?limit=${PAGE}&created_before=${new Date(Date.UTC(2020, 0, 1) + i).toISOString()}`,
      {
        key: ctx.readKey,
      },
    );
  },
};

/**
 * The page DEEP_PAGES × 25 rows down the default order (created_at, id newest first), or the deepest a
 * small size has: its cursor is built from the row just above it, found with SQL and encoded as
 * src/subscribers/list.ts does, one distinct row per request so each is a cache miss; the page's
 * first row must be the next one down.
 */
const listDeep: PathDef = {
  name: "list page 10,000 deep",
  warmup: 5,
  samples: (n) => n,
  async setup(ctx, count) {
    const { rows: total } = await ctx.pool.query<{ n: number }>("select count(*)::int as n from subscribers");
    const need = count + 5 + 1;
    const offset = Math.max(0, Math.min(DEEP_PAGES * PAGE - 1, total[0]!.n - PAGE - need));
    const { rows } = await ctx.pool.query<{ created_at: Date; id: string }>(
      "select created_at, id from subscribers order by created_at desc, id desc offset $1 limit $2",
      [offset, need],
    );
    const cursor = (i: number) => encodeCursor({ s: "created_at", t: rows[i]!.created_at.toISOString(), i: rows[i]!.id });
    const sampler = httpSampler(ctx, "list page 10,000 deep", (i) => `/v1/subscribers?limit=${PAGE}&cursor=${cursor(i)}`, {
      key: ctx.readKey,
      check: (body, i) => {
        const b = body as ListBody;
        if (b.data.length !== PAGE || b.data[0]!.id !== rows[i + 1]!.id) throw new Error("deep page: not the rows after the cursor");
      },
    });
    return { ...sampler, checks: () => ({ pages_deep: Math.floor((offset + 1) / PAGE) }) };
  },
};

/** GET /v1/stats with its cached answer removed before each request, so every one computes the counts. */
const stats: PathDef = {
  name: "GET /v1/stats (uncached)",
  warmup: 2,
  samples: (n) => Math.max(5, Math.round(n / 5)),
  async setup(ctx) {
    const kv = await cacheKv(ctx.app);
    let total = 0;
    const http = httpSampler(ctx, "GET /v1/stats (uncached)", () => "/v1/stats", {
      key: ctx.readKey,
      check: (body) => {
        total = (body as { data: { subscribers: { total: number } } }).data.subscribers.total;
      },
    });
    return {
      async sample(i) {
        for (const k of (await kv.list({ prefix: "stats" })).keys) await kv.delete(k.name);
        return http.sample(i);
      },
      checks: () => ({ subscribers_total: total }),
    };
  },
};

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, "0")}`);
const searchPath = (i: number) => {
  const month = MONTHS[i % MONTHS.length]!;
  return `/search?starts_at=${month}-01T00:00:00Z&ends_at=${month}-28T23:59:59Z`;
};
type SearchBody = { data: { events: unknown[] } };

/**
 * A new instance of the app whose KV holds a copy of every entry the measured instance's KV holds:
 * what an isolate that did not run the sync sees (the sync's own isolate also keeps the index it
 * built in memory, which would flatter /search right after a sync).
 */
async function readerInstance(ctx: SizeContext, names: string[]): Promise<AppInstance> {
  const source = await cacheKv(ctx.app);
  const fresh = await ctx.startApp();
  const target = await cacheKv(fresh);
  for (const name of names) {
    const { value, metadata } = await source.getWithMetadata(name, "arrayBuffer");
    if (value !== null) await target.put(name, value, metadata === null ? {} : { metadata });
  }
  // The isolate itself is started first: what follows measures /search, not script start-up.
  await (await fetch(new URL("/health", fresh.url))).arrayBuffer();
  return fresh;
}

/** /search over the twelve months of 2022, cycling, on an isolate that did not run the sync, once warm. */
const searchWarm: PathDef = {
  name: "/search warm",
  warmup: MONTHS.length,
  samples: (n) => n,
  async setup(ctx) {
    const reader = await readerInstance(ctx, await kvKeys(ctx.app));
    const events: number[] = [];
    const sampler = httpSampler({ ...ctx, app: reader }, "/search warm", searchPath, {
      check: (body, i) => {
        if (i < MONTHS.length) events.push((body as SearchBody).data.events.length);
      },
    });
    // The same at every size: the history lies before 2022.
    return { ...sampler, checks: () => ({ events_per_month: events }), close: () => reader.mf.dispose() };
  },
};

/** /search as the first request for plans on a new isolate (the KV as the measured instance's). */
const searchCold: PathDef = {
  name: "/search cold (new isolate)",
  warmup: 0,
  samples: () => 5,
  async setup(ctx) {
    const names = await kvKeys(ctx.app);
    return {
      async sample(i) {
        const fresh = await readerInstance(ctx, names);
        try {
          return await httpSampler({ ...ctx, app: fresh }, "/search cold (new isolate)", searchPath, {
            check: (body) => {
              if ((body as SearchBody).data.events.length === 0) throw new Error("search cold: no events");
            },
          }).sample(i);
        } finally {
          await fresh.mf.dispose();
        }
      },
      checks: () => ({ kv_keys_copied: names.length }),
    };
  },
};

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

export const READ_PATHS: PathDef[] = [
  searchWarm,
  searchCold,
  subscriberMiss,
  listPath("list page 1", "sort=created_at"),
  listDeep,
  listPath("list ?status=unsubscribed", "status=unsubscribed"),
  listPath("list ?status=bounced", "status=bounced"),
  listByEmail,
  listPath("list ?created_after=2026-06-01", "created_after=2026-06-01T00:00:00Z"),
  listCreatedBefore,
  listPath("list ?updated_since=2026-06-01", "updated_since=2026-06-01T00:00:00Z"),
  listPath("list ?sort=updated_at", "sort=updated_at"),
  listPath("list ?sort=updated_at&status=active", "sort=updated_at&status=active"),
  stats,
];
