// Subscriber reads and writes over HTTP: cache-hit GET, cache-miss GET, POST (202, then stored), each
// also at concurrency 1 for latency, each interleaved with what it is held to (paired-load.ts): the
// baseline, and for the miss and the POST their same-I/O harness rows.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { baselineSide } from "./harness-scenarios.ts";
import type { LoadSpec } from "./load.ts";
import type { HttpSlices } from "./paired-load.ts";
import { measureInterleaved, measurementOf, pairedOf } from "./paired-load.ts";
import type { Scenario, SpecOptions } from "./scenario-kit.ts";
import { bearer, waitForCount } from "./scenario-kit.ts";
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

/** Responses of these slices (c32 and c1) whose Server-Timing said `outcome`. */
const outcomes = (s: HttpSlices, outcome: string) => [...s.load, ...s.c1].reduce((n, r) => n + (r.cache[outcome] ?? 0), 0);

export const getHit: Scenario = {
  id: "get_hit",
  label: "GET /v1/subscribers/{id} cache hit",
  targets: [{ of: "baseline", min: 0.6 }],
  async run(stack, opts, runId) {
    const spec = await hotReadSpec(stack, opts, runId);
    await fillOneByOne(spec);
    const s = await measureInterleaved(opts, [{ name: "get_hit", spec, allowed: [200], c1: true }, baselineSide(stack, opts, true)]);
    const misses = outcomes(s.get_hit!, "miss");
    if (misses > 0) throw new Error(`get_hit: ${misses} responses were cache misses`);
    return {
      ...measurementOf(s.get_hit!, { hot_ids: spec.ids.length }),
      paired: [pairedOf("baseline", s.get_hit!, s.baseline!)],
      also: { baseline: measurementOf(s.baseline!) },
    };
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
 * fresh instances of the app, one with METRICS_ROLLUPS=on and one with it off, interleaved. The "off"
 * instance is the reference.
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
    const s = await measureInterleaved(opts, [
      { name: "on", spec: { ...spec, url: on.url }, allowed: [200] },
      { name: "off", spec: { ...spec, url: off.url }, allowed: [200] },
    ]);
    return {
      ...measurementOf(s.on!),
      paired: [pairedOf("reference", s.on!, s.off!)],
      reference: { label: "cache hit, request rollups off", rate: measurementOf(s.off!).rate, unit: "req/s" },
    };
  },
};

/** `count` subscribers that exist in Postgres but were never read, GETs cycling over them, and a check that none was read twice. */
async function missSpec(stack: Stack, opts: SpecOptions & { quick: boolean }, name: string, runId: string, url: URL) {
  const count = opts.quick ? 20_000 : 60_000;
  const ids = await seedSubscribers(
    stack.pool,
    Array.from({ length: count }, (_, i) => `${name}${i}-${runId}@bench.example.com`),
  );
  const { spec, requested } = readSpec(stack, opts, ids, url);
  const check = () => {
    if (requested() > ids.length)
      throw new Error(`${name}: ${requested()} requests but only ${ids.length} distinct ids; raise the seed count`);
    return { distinct_ids_used: requested(), ids_seeded: ids.length };
  };
  return { spec, check };
}

/**
 * A real miss: every request asks for a different subscriber that exists in Postgres but was never
 * read (so neither KV nor any in-isolate layer can have it), on the app and, interleaved with it, on
 * its same-I/O harness (harness-worker/index.ts: key memo and limiter lease, KV get, the query, KV
 * put) and the baseline; at concurrency 1 beside the cache hit. The run fails loudly if any response
 * was a hit or an id was read twice.
 */
export const getMiss: Scenario = {
  id: "get_miss",
  label: "GET /v1/subscribers/{id} cache miss",
  targets: [{ of: "baseline", min: 0.15 }, { of: "get_hit", metric: "c1_p50", max: 3 }, { of: "get_miss_harness" }],
  async run(stack, opts, runId) {
    const app = await missSpec(stack, opts, "get_miss", runId, stack.appUrl);
    const harness = await missSpec(stack, opts, "get_miss_harness", runId, stack.harnessUrl);
    const hot = await hotReadSpec(stack, opts, `miss-${runId}`);
    await fillOneByOne(hot);
    const s = await measureInterleaved(opts, [
      { name: "get_miss", spec: app.spec, allowed: [200], c1: true },
      { name: "get_miss_harness", spec: harness.spec, allowed: [200], c1: true },
      { name: "get_hit", spec: hot, allowed: [200], load: false, c1: true },
      baselineSide(stack, opts),
    ]);
    for (const side of ["get_miss", "get_miss_harness"] as const) {
      const hits = outcomes(s[side]!, "hit");
      if (hits > 0) throw new Error(`${side}: ${hits} responses were cache hits`);
    }
    if (outcomes(s.get_hit!, "miss") > 0) throw new Error("get_miss: the cache hit it is held to (c1) measured misses");
    return {
      ...measurementOf(s.get_miss!, app.check()),
      paired: [
        pairedOf("baseline", s.get_miss!, s.baseline!),
        pairedOf("get_hit", s.get_miss!, s.get_hit!, "c1_p50"),
        pairedOf("get_miss_harness", s.get_miss!, s.get_miss_harness!),
      ],
      also: { get_miss_harness: measurementOf(s.get_miss_harness!, harness.check()), baseline: measurementOf(s.baseline!) },
    };
  },
};

export const getMissHarness: Scenario = {
  id: "get_miss_harness",
  label: "harness: same I/O as the cache miss",
  measuredBy: ["get_miss"],
};

/**
 * POSTs of distinct addresses on the app and, interleaved with it, on its same-I/O harness
 * (harness-worker/index.ts: key memo and limiter lease, KV get, queue send, KV put; its queue() stores
 * the batches with the consumer's I/O), then the same at concurrency 1. Every accepted write must end
 * up stored: after each slice the side waits, off the clock, until its queue has drained (the
 * consumer's work runs on the same workerd thread during the load, in production on other
 * machines), so no slice measures another's backlog.
 */
export const post: Scenario = {
  id: "post",
  label: "POST /v1/subscribers (202, enqueued)",
  targets: [{ of: "post_io_harness", min: 0.85 }],
  async run(stack, opts, runId) {
    const side = (name: string, url: URL, prefix: string) => {
      const spec = postSpec(stack, opts, runId, url, prefix);
      const drain = () =>
        waitForCount(
          stack.pool,
          "select count(*)::int as n from subscribers where email like $1",
          [`${prefix}%-${runId}@bench.example.com`],
          spec.sent(),
          180_000,
        );
      return { name, spec, allowed: [202], c1: true, drain, after: async () => void (await drain()) };
    };
    // Prefixes no LIKE pattern of the other matches ("post%" would count the harness's rows too).
    const app = side("post", stack.appUrl, "post-");
    const harness = side("post_io_harness", stack.harnessUrl, "post_io_harness-");
    const s = await measureInterleaved(opts, [app, harness]);
    const stored = async (x: typeof app) => {
      const d = await x.drain();
      if (d.count !== x.spec.sent()) throw new Error(`${x.name}: ${d.count} of ${x.spec.sent()} accepted writes stored`);
      return { accepted_total: x.spec.sent(), stored_total: d.count };
    };
    return {
      ...measurementOf(s.post!, await stored(app)),
      paired: [pairedOf("post_io_harness", s.post!, s.post_io_harness!)],
      also: { post_io_harness: measurementOf(s.post_io_harness!, await stored(harness)) },
    };
  },
};

export const postIoHarness: Scenario = {
  id: "post_io_harness",
  label: "harness: same I/O as the POST (and its consumer)",
  measuredBy: ["post"],
};
