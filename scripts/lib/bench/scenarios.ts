// The bench's scenarios. Each returns a Measurement (or null when not available yet); bench.ts
// runs them in order, side by side in one process, and turns them into the table and latest.json.
// To add one (the plan scenarios below are stubs until plans land): implement `run`, keep its id.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { runLoad } from "./load.ts";
import type { LoadResult, LoadSpec } from "./load.ts";
import type { Stack } from "./stack.ts";

export interface BenchOptions {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  consumerRows: number;
  log: (m: string) => void;
}

export interface Measurement {
  /** req/s for HTTP scenarios, rows/s for the consumer and raw insert. */
  rate: number;
  unit: "req/s" | "rows/s" | "ms";
  p50_ms: number | null;
  p99_ms: number | null;
  /** What the scenario verified about its own run (cache outcomes, statuses, rows stored…). */
  checks: Record<string, unknown>;
  /** Scenario-specific figures that go into latest.json as they are (e.g. ingest_peak_mb). */
  extra?: Record<string, number | null>;
}

export interface Target {
  /** Ratio of this scenario's rate to another scenario's rate, in the same run. */
  of: "baseline" | "raw_insert";
  min: number;
}

export interface Scenario {
  id: string;
  label: string;
  target?: Target;
  /** false for a stub whose feature does not exist yet: reported as "not yet available". */
  available?: boolean;
  run(stack: Stack, opts: BenchOptions, runId: string): Promise<Measurement | null>;
}

const json = { "Content-Type": "application/json" };
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

function http(r: LoadResult, checks: Record<string, unknown> = {}): Measurement {
  return { rate: r.rps, unit: "req/s", p50_ms: r.p50_ms, p99_ms: r.p99_ms, checks: { requests: r.requests, statuses: r.statuses, cache: r.cache, errors: r.errors, ...checks } };
}

function assertOnly(r: LoadResult, allowed: number[], what: string): void {
  const bad = Object.entries(r.statuses).filter(([s]) => !allowed.includes(Number(s)));
  if (bad.length || r.errors) throw new Error(`${what}: unexpected statuses ${JSON.stringify(r.statuses)}, ${r.errors} socket errors`);
}

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

async function warm(stack: Stack, opts: BenchOptions, spec: Parameters<typeof runLoad>[0]): Promise<void> {
  if (opts.warmupSeconds > 0) await runLoad({ ...spec, seconds: opts.warmupSeconds });
}

const baseline: Scenario = {
  id: "baseline",
  label: 'trivial "ok" Worker (baseline)',
  async run(stack, opts) {
    const spec = { url: stack.baselineUrl, path: "/", seconds: opts.seconds, connections: opts.connections };
    await warm(stack, opts, spec);
    const r = await runLoad(spec);
    assertOnly(r, [200], "baseline");
    return http(r);
  },
};

const HOT_SET = 100;

/** Load specs, shared with scripts/profile.ts so a profile runs exactly the bench's load. */
type SpecOptions = Pick<BenchOptions, "seconds" | "connections">;

/** GETs cycling over HOT_SET subscribers seeded straight into Postgres (cache hits once warm). */
export async function hotReadSpec(stack: Stack, opts: SpecOptions, runId: string): Promise<LoadSpec & { ids: string[] }> {
  const ids = await seedSubscribers(stack.pool, Array.from({ length: HOT_SET }, (_, i) => `hot${i}-${runId}@bench.example.com`));
  let n = 0;
  return {
    url: stack.appUrl,
    path: `/v1/subscribers/${ids[0]}`,
    headers: bearer(stack.readKey),
    next: () => ({ path: `/v1/subscribers/${ids[n++ % ids.length]}` }),
    seconds: opts.seconds,
    connections: opts.connections,
    ids,
  };
}

/** POSTs of distinct emails `post<n>-<runId>@…`; `sent()` is how many bodies were handed out. */
export function postSpec(stack: Stack, opts: SpecOptions, runId: string): LoadSpec & { sent: () => number } {
  let n = 0;
  return {
    url: stack.appUrl,
    method: "POST",
    path: "/v1/subscribers",
    headers: { ...json, ...bearer(stack.writeKey) },
    next: () => ({ body: JSON.stringify({ email: `post${n++}-${runId}@bench.example.com`, name: "Bench", last_name: "Post", status: "active" }) }),
    seconds: opts.seconds,
    connections: opts.connections,
    sent: () => n,
  };
}

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, "0")}`);
const searchPath = (month: string) => `/search?starts_at=${month}-01T00:00:00Z&ends_at=${month}-28T23:59:59Z`;

/** /search over month-long ranges of 2022, cycling, so answers differ and are not all one body. */
export function searchSpec(stack: Stack, opts: SpecOptions): LoadSpec {
  let n = 0;
  return { url: stack.appUrl, path: searchPath(MONTHS[0]!), next: () => ({ path: searchPath(MONTHS[n++ % MONTHS.length]!) }), seconds: opts.seconds, connections: opts.connections };
}

const getHit: Scenario = {
  id: "get_hit",
  label: "GET /v1/subscribers/{id} cache hit",
  target: { of: "baseline", min: 0.5 },
  async run(stack, opts, runId) {
    const spec = await hotReadSpec(stack, opts, runId);
    await warm(stack, opts, { ...spec, seconds: Math.max(1, opts.warmupSeconds) });
    const r = await runLoad(spec);
    assertOnly(r, [200], "get_hit");
    return http(r, { hot_ids: spec.ids.length });
  },
};

/**
 * A real miss: every request asks for a different subscriber that exists in Postgres but was never
 * read (so neither KV nor any in-isolate layer can have it). The ids are seeded directly into
 * Postgres; the run fails loudly if it ever wraps around to an id already read.
 */
const getMiss: Scenario = {
  id: "get_miss",
  label: "GET /v1/subscribers/{id} cache miss",
  async run(stack, opts, runId) {
    const count = opts.quick ? 20_000 : 60_000;
    const ids = await seedSubscribers(stack.pool, Array.from({ length: count }, (_, i) => `miss${i}-${runId}@bench.example.com`));
    let n = 0;
    const spec = {
      url: stack.appUrl,
      path: `/v1/subscribers/${ids[0]}`,
      headers: bearer(stack.readKey),
      next: () => ({ path: `/v1/subscribers/${ids[n++ % ids.length]}` }),
      seconds: opts.seconds,
      connections: opts.connections,
    };
    await warm(stack, opts, spec);
    const r = await runLoad(spec);
    if (n > ids.length) throw new Error(`get_miss: ${n} requests but only ${ids.length} distinct ids; raise the seed count`);
    assertOnly(r, [200], "get_miss");
    if ((r.cache.hit ?? 0) > 0) throw new Error(`get_miss: ${r.cache.hit} responses were cache hits`);
    return http(r, { distinct_ids_used: n, ids_seeded: ids.length });
  },
};

async function waitForCount(pool: pg.Pool, sql: string, params: unknown[], want: number, timeoutMs: number): Promise<{ count: number; ms: number }> {
  const started = performance.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(sql, params);
    const count = rows[0]!.n;
    if (count >= want || performance.now() - started > timeoutMs) return { count, ms: performance.now() - started };
    await new Promise((r) => setTimeout(r, 50));
  }
}

const post: Scenario = {
  id: "post",
  label: "POST /v1/subscribers (202, enqueued)",
  target: { of: "baseline", min: 0.25 },
  async run(stack, opts, runId) {
    const spec = postSpec(stack, opts, runId);
    await warm(stack, opts, spec);
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

/**
 * What Miniflare's KV and Queues simulators cost on their own: the trivial Worker doing a POST's I/O
 * (KV get, queue send, KV put) and nothing else. No target: it is the ceiling any POST handler
 * with that I/O can reach in this harness.
 */
function probe(id: string, label: string, path: string): Scenario {
  return {
    id,
    label,
    async run(stack, opts) {
      const spec = { url: stack.baselineUrl, method: "POST" as const, path, seconds: opts.seconds, connections: opts.connections };
      await warm(stack, opts, spec);
      const r = await runLoad(spec);
      assertOnly(r, [202], id);
      return http(r);
    },
  };
}

const probeKvPut = probe("probe_kv_put", "harness: trivial Worker + 1 KV put", "/kv-put");
const probePostIo = probe("probe_post_io", "harness: trivial Worker + KV get, send, KV put", "/post-io");

/** The same rows for both sides of the consumer comparison. */
function consumerMessages(count: number, prefix: string) {
  return Array.from({ length: count }, (_, i) => ({
    type: "subscriber.create" as const,
    v: 1 as const,
    operation_id: randomUUID(),
    requested_at: new Date().toISOString(),
    subscriber: { id: randomUUID(), email: `${prefix}${i}@bench.example.com`, name: "Bench", last_name: "Consumer", status: "active" as const },
  }));
}

/**
 * Enqueue → durable: N messages go into the real (Miniflare) queue through the Worker's own producer
 * binding; the clock stops when Postgres holds all N rows (counted by a query, not by the consumer).
 */
const consumer: Scenario = {
  id: "consumer",
  label: "queue consumer, enqueue → stored",
  target: { of: "raw_insert", min: 0.4 },
  async run(stack, opts, runId) {
    const messages = consumerMessages(opts.consumerRows, `cons-${runId}-`);
    const queue = await stack.app.getQueueProducer<(typeof messages)[number]>("SUBSCRIBER_QUEUE");
    const { rows } = await stack.pool.query<{ t: Date }>("select clock_timestamp() as t");
    const started = performance.now();
    for (let i = 0; i < messages.length; i += 100) {
      await queue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
    }
    const enqueueMs = performance.now() - started;
    const done = await waitForCount(
      stack.pool,
      "select count(*)::int as n from subscribers where created_at >= $1 and email like $2",
      [rows[0]!.t, `cons-${runId}-%`],
      messages.length,
      300_000,
    );
    const totalMs = performance.now() - started;
    if (done.count !== messages.length) throw new Error(`consumer: ${done.count}/${messages.length} rows stored before the timeout`);
    const rowsPerS = Math.round((messages.length / totalMs) * 1000);
    return { rate: rowsPerS, unit: "rows/s", p50_ms: null, p99_ms: null, checks: { rows: messages.length, enqueue_ms: Math.round(enqueueMs), total_ms: Math.round(totalMs) } };
  },
};

/** The reference: the same rows, multi-row INSERT of 100 per statement over one Node connection. */
const rawInsert: Scenario = {
  id: "raw_insert",
  label: "raw multi-row INSERT from Node (pg)",
  async run(stack, opts, runId) {
    const messages = consumerMessages(opts.consumerRows, `raw-${runId}-`);
    const client = new pg.Client({ connectionString: stack.pgUrl });
    await client.connect();
    try {
      const started = performance.now();
      for (let i = 0; i < messages.length; i += 100) {
        const chunk = messages.slice(i, i + 100);
        const values = chunk.map((_, j) => `($${j * 5 + 1}, $${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5})`).join(", ");
        await client.query(
          `insert into subscribers (id, email, name, last_name, status) values ${values}`,
          chunk.flatMap((m) => [m.subscriber.id, m.subscriber.email, m.subscriber.name, m.subscriber.last_name, m.subscriber.status]),
        );
      }
      const ms = performance.now() - started;
      return { rate: Math.round((messages.length / ms) * 1000), unit: "rows/s", p50_ms: null, p99_ms: null, checks: { rows: messages.length, total_ms: Math.round(ms) } };
    } finally {
      await client.end();
    }
  },
};

// ── Plans

/** CPU time (user + system) of a process, from /proc, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function memMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(m![1]) / 1024);
}

const INGEST = { plans: 5_000, zonesPerPlan: 200 };
const INGEST_HEAP_CAP_MB = Number(process.env.BENCH_INGEST_HEAP_MB ?? 128);

/**
 * The sync of a generated 5,000 plans × 200 zones document (95 MB, 1,000,000 zones), streamed by the
 * provider stand-in, run by POST /v1/admin/plans/sync in a workerd process of its own so that its CPU
 * time and peak resident memory can be read from /proc around the run. The process figures include
 * workerd itself (sockets, stream buffers, young generation), so they are upper bounds for the
 * isolate; the memory limit itself is checked by capping V8's heap (BENCH_INGEST_HEAP_MB, default
 * 128: the Workers isolate limit). Measured here: the run also completes with the cap at 12 MB.
 */
const planIngest: Scenario = {
  id: "ingest",
  label: `plan ingest, ${INGEST.plans.toLocaleString("en-US")} plans × ${INGEST.zonesPerPlan} zones`,
  async run(stack) {
    stack.provider.setGenerated({ ...INGEST, basePlanIdOffset: 500_000 });
    // V8's heap capped at the Workers isolate limit: if the sync needed more, it would fail here
    // rather than pass on a machine with memory to spare.
    const { url, pid } = await stack.startAppWorker([`--max-old-space-size=${INGEST_HEAP_CAP_MB}`]);
    // One request first, so start-up costs (script compile, config parse) are not counted.
    await fetch(new URL("/health", url));
    const rssBefore = memMb(pid, "VmRSS");
    const cpuBefore = cpuMs(pid);
    const started = performance.now();
    const res = await fetch(new URL("/v1/admin/plans/sync", url), { method: "POST", headers: bearer(stack.adminKey) });
    const wall = Math.round(performance.now() - started);
    const body = (await res.json()) as { data?: { outcome: string; counts: Record<string, number>; document: { bytes: number }; index: { plans: number } | null } };
    if (res.status !== 200 || body.data?.outcome !== "ok") throw new Error(`ingest: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    const cpu = Math.round(cpuMs(pid) - cpuBefore);
    const peak = memMb(pid, "VmHWM");
    const { rows } = await stack.pool.query<{ plans: number; zones: number }>(
      "select (select count(*) from plans where base_plan_id::int >= 500000)::int as plans, (select count(*) from zones z join plans p on p.id = z.plan_id where p.base_plan_id::int >= 500000)::int as zones",
    );
    if (rows[0]!.plans !== INGEST.plans || rows[0]!.zones !== INGEST.plans * INGEST.zonesPerPlan) throw new Error(`ingest: stored ${JSON.stringify(rows[0])}`);
    return {
      rate: wall,
      unit: "ms",
      p50_ms: null,
      p99_ms: null,
      checks: { v8_max_old_space_mb: INGEST_HEAP_CAP_MB, ...body.data.counts, bytes: body.data.document.bytes, stored_plans: rows[0]!.plans, stored_zones: rows[0]!.zones, workerd_rss_before_mb: rssBefore, workerd_peak_rss_mb: peak },
      extra: { ingest_cpu_ms: cpu, ingest_peak_mb: peak - rssBefore },
    };
  },
};

/**
 * /search with the index warm (built by the ingest above: 5,000 plans, plus whatever else), cycling
 * through month-long ranges so answers differ and are not all one memoised body.
 */
const searchWarm: Scenario = {
  id: "search",
  label: "GET /search warm",
  target: { of: "baseline", min: 0.5 },
  async run(stack, opts) {
    // Each Miniflare instance has its own KV: a sync in this one publishes the index here (the
    // document is unchanged, so it writes no plans, only the index).
    const synced = await fetch(new URL("/v1/admin/plans/sync", stack.appUrl), { method: "POST", headers: bearer(stack.adminKey) });
    if (synced.status !== 200) throw new Error(`search: sync ${synced.status} ${await synced.text()}`);
    const spec = searchSpec(stack, opts);
    const first = await fetch(new URL(spec.path, stack.appUrl));
    const events = ((await first.json()) as { data: { events: unknown[] } }).data.events.length;
    if (first.status !== 200 || events === 0) throw new Error(`search: index not warm (${first.status}, ${events} events)`);
    await warm(stack, opts, spec);
    const r = await runLoad(spec);
    assertOnly(r, [200], "search");
    return http(r, { events_in_first_range: events });
  },
};

/** In run order: the ceiling first, then reads, writes and their harness ceilings, the consumer and its reference, then plans. */
export const SCENARIOS: Scenario[] = [baseline, getHit, getMiss, post, probeKvPut, probePostIo, consumer, rawInsert, planIngest, searchWarm];
