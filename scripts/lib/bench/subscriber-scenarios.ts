// Subscriber reads and writes over HTTP: cache-hit GET, cache-miss GET, POST (202, then stored).
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { LoadSpec } from "./load.ts";
import { runLoad } from "./load.ts";
import type { Scenario, SpecOptions } from "./scenario-kit.ts";
import { assertOnly, bearer, http, waitForCount, warm } from "./scenario-kit.ts";
import type { Stack } from "./stack.ts";

const json = { "Content-Type": "application/json" };

/** Inserts subscribers straight into Postgres (not into the cache), 1,000 per statement. */
async function seedSubscribers(pool: pg.Pool, emails: string[]): Promise<string[]> {
  const ids = emails.map(() => randomUUID());
  for (let i = 0; i < emails.length; i += 1000) {
    await pool.query(
      `insert into subscribers (id, email, name, last_name, status)
       select id, email, 'Bench', 'Seed', 'active' from unnest($1::uuid[], $2::text[]) as t(id, email)`,
      [ids.slice(i, i + 1000), emails.slice(i, i + 1000)],
    );
  }
  return ids;
}

const HOT_SET = 100;

/** GETs cycling over `ids`; `requested()` is how many ids were handed out so far. */
function readSpec(stack: Stack, opts: SpecOptions, ids: string[]): { spec: LoadSpec; requested: () => number } {
  let n = 0;
  const spec = {
    url: stack.appUrl,
    path: `/v1/subscribers/${ids[0]}`,
    headers: bearer(stack.readKey),
    next: () => ({ path: `/v1/subscribers/${ids[n++ % ids.length]}` }),
    seconds: opts.seconds,
    connections: opts.connections,
  };
  return { spec, requested: () => n };
}

/** GETs cycling over HOT_SET subscribers seeded straight into Postgres (cache hits once warm). */
export async function hotReadSpec(stack: Stack, opts: SpecOptions, runId: string): Promise<LoadSpec & { ids: string[] }> {
  const ids = await seedSubscribers(
    stack.pool,
    Array.from({ length: HOT_SET }, (_, i) => `hot${i}-${runId}@bench.example.com`),
  );
  return { ...readSpec(stack, opts, ids).spec, ids };
}

/** POSTs of distinct emails `post<n>-<runId>@…`; `sent()` is how many bodies were handed out. */
export function postSpec(stack: Stack, opts: SpecOptions, runId: string): LoadSpec & { sent: () => number } {
  let n = 0;
  return {
    url: stack.appUrl,
    method: "POST",
    path: "/v1/subscribers",
    headers: { ...json, ...bearer(stack.writeKey) },
    next: () => ({
      body: JSON.stringify({ email: `post${n++}-${runId}@bench.example.com`, name: "Bench", last_name: "Post", status: "active" }),
    }),
    seconds: opts.seconds,
    connections: opts.connections,
    sent: () => n,
  };
}

export const getHit: Scenario = {
  id: "get_hit",
  label: "GET /v1/subscribers/{id} cache hit",
  target: { of: "baseline", min: 0.5 },
  async run(stack, opts, runId) {
    const spec = await hotReadSpec(stack, opts, runId);
    await warm(opts, { ...spec, seconds: Math.max(1, opts.warmupSeconds) });
    const r = await runLoad(spec);
    assertOnly(r, [200], "get_hit");
    return http(r, { hot_ids: spec.ids.length });
  },
};

/**
 * What the request rollups (src/status/rollup.ts) cost on the hottest path: the cache-hit GET on two
 * fresh instances of the app, one with METRICS_ROLLUPS=on and one with it off, in alternating slices
 * of the run so machine noise falls on both alike. The "off" instance is the reference.
 */
export const rollupCost: Scenario = {
  id: "rollup_cost",
  label: "cache hit, request rollups on",
  target: { of: "reference", min: 0.95 },
  async run(stack, opts, runId) {
    const [on, off] = [
      await stack.startAppWorker([], { METRICS_ROLLUPS: "on" }),
      await stack.startAppWorker([], { METRICS_ROLLUPS: "off" }),
    ];
    const spec = await hotReadSpec(stack, opts, `rollups-${runId}`);
    const slices = 4;
    const slice = { ...spec, seconds: Math.max(1, opts.seconds / slices) };
    await warm(opts, { ...spec, url: on.url, seconds: Math.max(1, opts.warmupSeconds) });
    await warm(opts, { ...spec, url: off.url, seconds: Math.max(1, opts.warmupSeconds) });
    const totals = { on: { requests: 0, seconds: 0 }, off: { requests: 0, seconds: 0 } };
    let last: Awaited<ReturnType<typeof runLoad>> | undefined;
    for (let i = 0; i < slices; i++) {
      for (const [name, instance] of [
        ["on", on],
        ["off", off],
      ] as const) {
        const r = await runLoad({ ...slice, url: instance.url });
        assertOnly(r, [200], `rollup_cost (${name})`);
        totals[name].requests += r.requests;
        totals[name].seconds += slice.seconds;
        if (name === "on") last = r;
      }
    }
    const rate = (t: { requests: number; seconds: number }) => Math.round(t.requests / t.seconds);
    return {
      ...http(last!, { slices, requests_on: totals.on.requests, requests_off: totals.off.requests }),
      rate: rate(totals.on),
      reference: { label: "cache hit, request rollups off", rate: rate(totals.off), unit: "req/s" },
    };
  },
};

/**
 * A real miss: every request asks for a different subscriber that exists in Postgres but was never
 * read (so neither KV nor any in-isolate layer can have it). The ids are seeded directly into
 * Postgres; the run fails loudly if it ever wraps around to an id already read.
 */
export const getMiss: Scenario = {
  id: "get_miss",
  label: "GET /v1/subscribers/{id} cache miss",
  async run(stack, opts, runId) {
    const count = opts.quick ? 20_000 : 60_000;
    const ids = await seedSubscribers(
      stack.pool,
      Array.from({ length: count }, (_, i) => `miss${i}-${runId}@bench.example.com`),
    );
    const { spec, requested } = readSpec(stack, opts, ids);
    await warm(opts, spec);
    const r = await runLoad(spec);
    const n = requested();
    if (n > ids.length) throw new Error(`get_miss: ${n} requests but only ${ids.length} distinct ids; raise the seed count`);
    assertOnly(r, [200], "get_miss");
    if ((r.cache.hit ?? 0) > 0) throw new Error(`get_miss: ${r.cache.hit} responses were cache hits`);
    return http(r, { distinct_ids_used: n, ids_seeded: ids.length });
  },
};

export const post: Scenario = {
  id: "post",
  label: "POST /v1/subscribers (202, enqueued)",
  target: { of: "baseline", min: 0.25 },
  async run(stack, opts, runId) {
    const spec = postSpec(stack, opts, runId);
    await warm(opts, spec);
    const r = await runLoad(spec);
    assertOnly(r, [202], "post");
    // Every accepted write must end up stored: wait for the consumer to drain the queue.
    const drained = await waitForCount(
      stack.pool,
      "select count(*)::int as n from subscribers where email like $1",
      [`post%-${runId}@bench.example.com`],
      spec.sent(),
      180_000,
    );
    return http(r, { accepted_total: spec.sent(), stored_total: drained.count, drain_ms: Math.round(drained.ms) });
  },
};
