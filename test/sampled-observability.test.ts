import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, vi } from "vitest";
import worker from "../src/index.ts";
import type { Units } from "../src/lib/meter.ts";
import { newUnits } from "../src/lib/meter.ts";
import { isolateRollups } from "../src/status/rollup.ts";
import { Status } from "../src/status/schema.ts";
import { it } from "./harness.ts";
import { appWith as appWithConfig, bearer, captureLogLines, logRecords, uniqueDomain } from "./helpers.ts";
import { runBatch, subscriberMessage } from "./queue-helpers.ts";

// Production samples successful requests (LOG_SAMPLE_RATE, METRICS_SAMPLE_INTERVAL); the suite and
// `npm run dev` keep everything. Here each test sets its own rate or interval, and where a decision
// is random, Math.random is fixed so the decision is known (the app runs in this isolate).

const lines = captureLogLines();
const UNIT_NAMES = Object.keys(newUnits()) as (keyof Units)[];
afterEach(() => vi.restoreAllMocks());

const parsed = () => logRecords(lines);
const requestLines = () => parsed().filter((l) => l.event === "http_request");

/**
 * The per-location IP shield allows 1,000 public requests a minute from one address, and the suite's
 * files share it: open here, so that what these tests count is sampling, never a 429 from the shield.
 */
function appWith(overrides: Record<string, unknown>) {
  return appWithConfig({ IP_SHIELD: { limit: async () => ({ success: true }) }, ...overrides });
}

function fakeDataset() {
  const points: Array<AnalyticsEngineDataPoint & { at: number }> = [];
  return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push({ ...p, at: Date.now() }) } };
}

describe("sampled log lines", () => {
  it("at rate 0 no success line is written; a 4xx line is, at sample_rate 1, with every unit its request spent", async () => {
    const fetch = appWith({ LOG_LEVEL: "info", LOG_SAMPLE_RATE: "0" });
    expect((await fetch("/health")).status).toBe(200);
    expect(requestLines()).toEqual([]);
    lines.length = 0;
    const res = await fetch("/v1/stats", { headers: bearer("ek_live_not-a-real-key-at-all-000000000000") });
    expect(res.status).toBe(401);
    const [line] = requestLines();
    expect(line).toMatchObject({ status: 401, sample_rate: 1 });
    for (const name of UNIT_NAMES) expect(typeof line![name], name).toBe("number");
    // The request was sampled out before it ran and its units were metered all the same: the key lookup.
    expect(Number(line!.kv_reads) + Number(line!.db_round_trips)).toBeGreaterThanOrEqual(1);
    expect(line!.log_events).toBe(parsed().length);
    lines.length = 0;
    expect((await fetch("/nope")).status).toBe(404);
    expect(requestLines()).toMatchObject([{ status: 404, sample_rate: 1 }]);
  });

  it("at rate 0.25 a request is kept when its draw is below the rate, and its line says the rate", async () => {
    const fetch = appWith({ LOG_LEVEL: "info", LOG_SAMPLE_RATE: "0.25" });
    vi.spyOn(Math, "random").mockReturnValue(0.3);
    await fetch("/health");
    expect(requestLines()).toEqual([]);
    vi.spyOn(Math, "random").mockReturnValue(0.2);
    await fetch("/health");
    expect(requestLines()).toMatchObject([{ route: "/health", status: 200, sample_rate: 0.25, log_events: 1 }]);
  });

  it("the suite's own configuration keeps every line, at sample_rate 1", async () => {
    const fetch = appWith({ LOG_LEVEL: "info" });
    await fetch("/health");
    await fetch("/health");
    expect(requestLines().map((l) => l.sample_rate)).toEqual([1, 1]);
  });

  it("queue batch and cron lines are never sampled", async () => {
    const e = { ...env, LOG_LEVEL: "info", LOG_SAMPLE_RATE: "0" } as Env;
    await runBatch([subscriberMessage(`sampled@${uniqueDomain()}`)], { env: e });
    const batch = parsed().filter((l) => l.event === "queue_batch");
    expect(batch).toHaveLength(1);
    expect(batch[0]).not.toHaveProperty("sample_rate");
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), e, ctx);
    await waitOnExecutionContext(ctx);
    expect(parsed().filter((l) => l.event === "cron_run")).toMatchObject([{ task: "maintenance", outcome: "ok" }]);
  });
});

describe("Analytics Engine sample interval", () => {
  it("a success writes its point 1 in METRICS_SAMPLE_INTERVAL times, weighted by the interval; a 4xx always, weight 1", async () => {
    const { points, dataset } = fakeDataset();
    const fetch = appWith({ LOG_LEVEL: "info", METRICS: dataset, METRICS_SAMPLE_INTERVAL: "4" });
    vi.spyOn(Math, "random").mockReturnValue(0.3);
    await fetch("/health");
    vi.spyOn(Math, "random").mockReturnValue(0.2);
    await fetch("/health");
    vi.spyOn(Math, "random").mockReturnValue(0.99);
    await fetch("/nope");
    // ae_points on each line is what the request wrote: the meter shows the interval.
    expect(requestLines().map((l) => [l.status, l.ae_points])).toEqual([
      [200, 0],
      [200, 1],
      [404, 1],
    ]);
    expect(points.map((p) => [p.blobs?.[3], p.blobs?.[7], p.doubles?.[3]])).toEqual([
      ["2xx", "health", 4],
      ["4xx", "other", 1],
    ]);
  });
});

/**
 * The Analytics Engine SQL API, played by this test over the points the app wrote: it filters and
 * groups them as the app's query says (time range, step, route group, latency bucket) and sums each
 * point's weight (double4; Analytics Engine's own _sample_interval is 1 at this volume).
 */
function analyticsApi(points: ReturnType<typeof fakeDataset>["points"], answer: { status: number } = { status: 200 }) {
  const real = globalThis.fetch;
  const queries: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.includes("/analytics_engine/sql")) return real(input, init);
    const sql = String(init?.body);
    queries.push(sql);
    if (answer.status !== 200) return new Response("no", { status: answer.status });
    const [start, end] = [...sql.matchAll(/toDateTime\('([^']+)'/g)].map((m) => Date.parse(`${m[1]}Z`) / 1000);
    const step = Number(/toUInt32\(timestamp\) - \d+, (\d+)\)/.exec(sql)?.[1]);
    const cells = new Map<string, Record<string, number | string>>();
    for (const p of points) {
      const t = Math.floor(p.at / 1000);
      if (p.blobs?.[0] !== "request" || t < start! || t >= end!) continue;
      const [group, b, bucket, w] = [String(p.blobs[7]), Math.floor((t - start!) / step), Number(p.doubles?.[4]), Number(p.doubles?.[3])];
      const key = `${group} ${b} ${bucket}`;
      const c = cells.get(key) ?? { route_group: group, b, bucket, n: 0, errors: 0, lookups: 0, hits: 0, sum_ms: 0 };
      c.n = Number(c.n) + w;
      c.errors = Number(c.errors) + (Number(p.doubles?.[1]) >= 500 ? w : 0);
      c.lookups = Number(c.lookups) + (p.blobs[4] !== "" ? w : 0);
      c.hits = Number(c.hits) + (p.blobs[4] === "hit" ? w : 0);
      c.sum_ms = Number(c.sum_ms) + w * Number(p.doubles?.[0]);
      cells.set(key, c);
    }
    // As ClickHouse's JSON: 64-bit integers as strings.
    const data = [...cells.values()].map((c) => ({ ...c, b: String(c.b), n: String(c.n) }));
    return Response.json({ meta: [], data, rows: data.length });
  });
  return queries;
}

describe("the status page and /v1/admin/metrics from Analytics Engine", () => {
  const AE = { ANALYTICS_SQL_ACCOUNT_ID: "0123456789abcdef0123456789abcdef", ANALYTICS_SQL_TOKEN: "test-token" };

  it("estimate the requests made from sampled points, exactly the weights written, and keep no Postgres rollups", {
    timeout: 120_000,
  }, async ({ admin }) => {
    const { points, dataset } = fakeDataset();
    const fetch = appWith({ ...AE, METRICS: dataset, METRICS_SAMPLE_INTERVAL: "4" });
    const rollupCount = () =>
      [isolateRollups.state.current, ...isolateRollups.state.finished].reduce(
        (a, m) => a + [...(m?.cells.values() ?? [])].reduce((s, c) => s + c.count, 0),
        0,
      );
    const before = rollupCount();
    const N = 400;
    for (let i = 0; i < N; i++) await (await fetch("/health")).arrayBuffer();
    for (let i = 0; i < 30; i++) await (await fetch("/nope")).arrayBuffer();
    expect(rollupCount()).toBe(before);
    const healthPoints = points.filter((p) => p.blobs?.[7] === "health");
    const queries = analyticsApi(points);

    const res = await fetch("/v1/admin/status?window=hour", { headers: bearer(admin) });
    expect(res.status).toBe(200);
    const status = Status.parse((await res.json<{ data: unknown }>()).data);
    const total = (group: string) =>
      status.requests.groups.find((g) => g.group === group)!.per_minute.reduce<number>((a, v) => a + (v ?? 0), 0);
    // The code multiplies by the interval: exactly 4 per success point written, 1 per 4xx.
    expect(total("health")).toBe(4 * healthPoints.length);
    expect(total("other")).toBe(30);
    // And the estimate holds: 4 × Binomial(400, 1/4) has a standard deviation of √(400 × 3) ≈ 34.6.
    expect(Math.abs(total("health") - N)).toBeLessThan(4 * Math.sqrt(N * 3));
    expect(queries.at(-1)).toContain("SUM(_sample_interval * double4)");

    const metrics = await (await fetch("/v1/admin/metrics", { headers: bearer(admin) })).text();
    expect(metrics).toContain(`edge_api_request_duration_seconds_count{group="health"} ${4 * healthPoints.length}\n`);
    expect(metrics).toContain('edge_api_request_duration_seconds_count{group="other"} 30\n');
  });

  it("answer 503 with Retry-After when the Analytics Engine SQL API fails, never zeros", async ({ admin }) => {
    const { points, dataset } = fakeDataset();
    const fetch = appWith({ ...AE, METRICS: dataset });
    analyticsApi(points, { status: 500 });
    const res = await fetch("/v1/admin/status?window=hour", { headers: bearer(admin) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
  });
});
