// The scale bench's read paths: one subscriber by id, the list with each filter and sort, a page
// deep down the list, uncached stats and /search (scale-search-paths.ts); scale-path-kit.ts says how
// each is sampled.
import type pg from "pg";
import { encodeCursor } from "../../../src/lib/pagination.ts";
import { cacheKv } from "../miniflare-app.ts";
import type { PathDef } from "./scale-path-kit.ts";
import { httpSampler } from "./scale-path-kit.ts";
import { searchCold, searchWarm } from "./scale-search-paths.ts";

const PAGE = 25;
const DEEP_PAGES = 10_000;

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
