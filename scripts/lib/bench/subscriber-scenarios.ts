// Subscriber reads and writes over HTTP: cache-hit GET, cache-miss GET, POST (202, then stored), each
// also at concurrency 1 for latency; the miss and the POST beside their same-I/O harness rows.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { LoadSpec } from "./load.ts";
import { runLoad } from "./load.ts";
import type { Scenario, SpecOptions } from "./scenario-kit.ts";
import { assertOnly, bearer, c1Of, http, latencyC1, waitForCount, warm } from "./scenario-kit.ts";
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
function readSpec(stack: Stack, opts: SpecOptions, ids: string[], url = stack.appUrl): { spec: LoadSpec; requested: () => number } {
  let n = 0;
  const spec = {
    url,
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

/** POSTs of distinct emails `<prefix><n>-<runId>@…`; `sent()` is how many bodies were handed out. */
export function postSpec(
  stack: Stack,
  opts: SpecOptions,
  runId: string,
  url = stack.appUrl,
  prefix = "post",
): LoadSpec & { sent: () => number } {
  let n = 0;
  return {
    url,
    method: "POST",
    path: "/v1/subscribers",
    headers: { ...json, ...bearer(stack.writeKey) },
    next: () => ({
      body: JSON.stringify({ email: `${prefix}${n++}-${runId}@bench.example.com`, name: "Bench", last_name: "Post", status: "active" }),
    }),
    seconds: opts.seconds,
    connections: opts.connections,
    sent: () => n,
  };
}

export const getHit: Scenario = {
  id: "get_hit",
  label: "GET /v1/subscribers/{id} cache hit",
  targets: [{ of: "baseline", min: 0.6 }],
  async run(stack, opts, runId) {
    const spec = await hotReadSpec(stack, opts, runId);
    await fillOneByOne(spec);
    await warm(opts, { ...spec, seconds: Math.max(1, opts.warmupSeconds) });
    const r = await runLoad(spec);
    assertOnly(r, [200], "get_hit");
    const c1 = await latencyC1(opts, spec, [200], "get_hit");
    const misses = (r.cache.miss ?? 0) + (c1.cache.miss ?? 0);
    if (misses > 0)
      throw new Error(`get_hit: ${misses} responses were cache misses (${JSON.stringify(r.cache)}, c1 ${JSON.stringify(c1.cache)})`);
    return { ...http(r, { hot_ids: spec.ids.length, c1_cache: c1.cache }), c1: c1Of(c1) };
  },
};

/**
 * One read of each hot id, one at a time, before any load: under 32 connections on a busy machine a
 * fill whose query took over TTL.fillWithinMs is dropped (by design), and the "hit" run would
 * measure misses.
 */
async function fillOneByOne(spec: LoadSpec & { ids: string[] }): Promise<void> {
  for (const id of spec.ids) await (await fetch(new URL(`/v1/subscribers/${id}`, spec.url), { headers: spec.headers })).arrayBuffer();
}

/**
 * What the request rollups (src/status/rollup.ts) cost on the hottest path: the cache-hit GET on two
 * fresh instances of the app, one with METRICS_ROLLUPS=on and one with it off, in alternating slices
 * of the run so machine noise falls on both alike. The "off" instance is the reference.
 */
export const rollupCost: Scenario = {
  id: "rollup_cost",
  label: "cache hit, request rollups on",
  targets: [{ of: "reference", min: 0.95 }],
  async run(stack, opts, runId) {
    const [on, off] = [
      await stack.startAppWorker([], { METRICS_ROLLUPS: "on" }),
      await stack.startAppWorker([], { METRICS_ROLLUPS: "off" }),
    ];
    const spec = await hotReadSpec(stack, opts, `rollups-${runId}`);
    await fillOneByOne({ ...spec, url: on.url });
    await fillOneByOne({ ...spec, url: off.url });
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
 * Postgres; the run fails loudly if it ever wraps around to an id already read. Then the same at
 * concurrency 1, on ids not read either.
 */
function miss(id: string, label: string, targets: Scenario["targets"], urlOf: (stack: Stack) => URL): Scenario {
  return {
    id,
    label,
    targets,
    async run(stack, opts, runId) {
      const count = opts.quick ? 20_000 : 60_000;
      const ids = await seedSubscribers(
        stack.pool,
        Array.from({ length: count }, (_, i) => `${id}${i}-${runId}@bench.example.com`),
      );
      const { spec, requested } = readSpec(stack, opts, ids, urlOf(stack));
      await warm(opts, spec);
      const r = await runLoad(spec);
      assertOnly(r, [200], id);
      const c1 = await latencyC1(opts, spec, [200], id);
      const n = requested();
      if (n > ids.length) throw new Error(`${id}: ${n} requests but only ${ids.length} distinct ids; raise the seed count`);
      const hits = (r.cache.hit ?? 0) + (c1.cache.hit ?? 0);
      if (hits > 0) throw new Error(`${id}: ${hits} responses were cache hits`);
      return { ...http(r, { distinct_ids_used: n, ids_seeded: ids.length, c1_cache: c1.cache }), c1: c1Of(c1) };
    },
  };
}

export const getMiss = miss(
  "get_miss",
  "GET /v1/subscribers/{id} cache miss",
  [{ of: "baseline", min: 0.15 }, { of: "get_hit", metric: "c1_p50", max: 3 }, { of: "get_miss_harness" }],
  (stack) => stack.appUrl,
);

/** The miss's I/O alone (harness-worker/index.ts): key memo and limiter lease, KV get, the query, KV put. */
export const getMissHarness = miss("get_miss_harness", "harness: same I/O as the cache miss", [], (stack) => stack.harnessUrl);

/**
 * POSTs of distinct addresses, then at concurrency 1; every accepted write must end up stored, so
 * the scenario waits for the consumer to drain the queue (its work runs on the same workerd thread
 * during the load, in production on other machines).
 */
function posts(id: string, label: string, targets: Scenario["targets"], urlOf: (stack: Stack) => URL): Scenario {
  return {
    id,
    label,
    targets,
    async run(stack, opts, runId) {
      const prefix = id === "post" ? "post" : `${id}-`;
      const spec = postSpec(stack, opts, runId, urlOf(stack), prefix);
      await warm(opts, spec);
      const r = await runLoad(spec);
      assertOnly(r, [202], id);
      // The latency run starts once the consumer has drained the load's writes: it shares the
      // workerd thread, and its backlog would otherwise be what the c1 run measures.
      const drain = () =>
        waitForCount(
          stack.pool,
          "select count(*)::int as n from subscribers where email like $1",
          [`${prefix}%-${runId}@bench.example.com`],
          spec.sent(),
          180_000,
        );
      const loadDrained = await drain();
      const c1 = await latencyC1(opts, spec, [202], id);
      const drained = await drain();
      if (drained.count !== spec.sent()) throw new Error(`${id}: ${drained.count} of ${spec.sent()} accepted writes stored`);
      return {
        ...http(r, { accepted_total: spec.sent(), stored_total: drained.count, drain_ms: Math.round(loadDrained.ms) }),
        c1: c1Of(c1),
      };
    },
  };
}

export const post = posts("post", "POST /v1/subscribers (202, enqueued)", [{ of: "post_io_harness", min: 0.85 }], (stack) => stack.appUrl);

/**
 * The POST's I/O alone (harness-worker/index.ts): key memo and limiter lease, KV get, queue send, KV
 * put; its queue() stores the batches with the consumer's I/O, as the app's consumer does beside the load.
 */
export const postIoHarness = posts("post_io_harness", "harness: same I/O as the POST (and its consumer)", [], (stack) => stack.harnessUrl);
