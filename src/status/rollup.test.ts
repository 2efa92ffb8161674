import { describe, expect, it } from "vitest";
import {
  bucketIndex,
  createRollupState,
  emptyCell,
  histogramQuantile,
  LATENCY_BOUNDS_MS,
  mergeInto,
  recordRequest,
  routeGroup,
  takeDueRows,
} from "./rollup.ts";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const req = (ms: number, extra: Partial<Parameters<typeof recordRequest>[2]> = {}) => ({
  group: "health" as const,
  status: 200,
  ms,
  cache: null,
  ...extra,
});

describe("latency histogram", () => {
  it("puts a latency in the first bucket whose bound is ≥ it, the rest in +Inf", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.1)).toBe(1);
    expect(bucketIndex(5)).toBe(2);
    expect(bucketIndex(5_000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(bucketIndex(5_000.1)).toBe(LATENCY_BOUNDS_MS.length);
    const s = createRollupState();
    for (const ms of [0.5, 3, 3, 7, 150, 9_999]) recordRequest(s, T0, req(ms));
    expect(s.current?.cells.get("health")?.buckets).toEqual([1, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(s.current?.cells.get("health")?.sumMs).toBeCloseTo(10_162.5);
  });

  it("interpolates percentiles inside a bucket, as histogram_quantile does", () => {
    // 100 requests between 10 and 20 ms: the median is half-way through that bucket.
    const b = new Array(13).fill(0);
    b[4] = 100;
    expect(histogramQuantile(0.5, b)).toBe(15);
    expect(histogramQuantile(0.99, b)).toBeCloseTo(19.9);
    // 50 in (0,1], 50 in (100,200]: p50 is the top of the first, p75 half-way through the second.
    const c = new Array(13).fill(0);
    c[0] = 50;
    c[7] = 50;
    expect(histogramQuantile(0.5, c)).toBe(1);
    expect(histogramQuantile(0.75, c)).toBe(150);
    // Everything above the last bound: the last bound.
    const d = new Array(13).fill(0);
    d[12] = 3;
    expect(histogramQuantile(0.5, d)).toBe(5_000);
    expect(histogramQuantile(0.5, new Array(13).fill(0))).toBeNull();
  });

  it("merges cells bucket by bucket", () => {
    const a = emptyCell();
    const b = emptyCell();
    a.buckets[1] = 2;
    b.buckets[1] = 3;
    b.count = 5;
    b.errors = 1;
    expect(mergeInto(a, b)).toMatchObject({ count: 5, errors: 1, buckets: [0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
  });
});

describe("minute rollover and flush", () => {
  it("counts per route group, 5xx and cache lookups", () => {
    const s = createRollupState();
    recordRequest(s, T0, req(2, { group: "subscribers", cache: "hit" }));
    recordRequest(s, T0 + 1, req(2, { group: "subscribers", cache: "miss" }));
    recordRequest(s, T0 + 2, req(2, { group: "subscribers", status: 503, cache: "error" }));
    expect(s.current?.cells.get("subscribers")).toMatchObject({ count: 3, errors: 1, cacheLookups: 3, cacheHits: 1 });
  });

  it("never flushes the current minute; a new minute finishes the last; at most one flush a minute", () => {
    const s = createRollupState();
    recordRequest(s, T0 + 1_000, req(3));
    expect(takeDueRows(s, T0 + 59_999)).toBeNull();
    recordRequest(s, T0 + 60_500, req(3));
    const first = takeDueRows(s, T0 + 60_500);
    expect(first).toHaveLength(1);
    expect(first?.[0]).toMatchObject({ minute: new Date(T0), routeGroup: "health", count: 1 });
    expect(first?.[0]?.isolateId).toMatch(/^[0-9a-f-]{36}$/);
    // Minute 1 ends at T0 + 120 s, but the last flush was 59.5 s before: not yet.
    recordRequest(s, T0 + 120_000, req(3));
    expect(takeDueRows(s, T0 + 120_000)).toBeNull();
    const second = takeDueRows(s, T0 + 120_500);
    expect(second?.map((r) => [r.minute.getTime(), r.count])).toEqual([[T0 + 60_000, 1]]);
    expect(second?.[0]?.isolateId).toBe(first?.[0]?.isolateId);
    expect(s.flushes).toBe(2);
  });

  it("flushes a minute that ended while no request came, and keeps an earlier-timed request in the current minute", () => {
    const s = createRollupState();
    recordRequest(s, T0 + 5_000, req(1));
    recordRequest(s, T0 + 4_000, req(1));
    expect(s.current?.cells.get("health")?.count).toBe(2);
    expect(takeDueRows(s, T0 + 10 * 60_000)?.map((r) => r.count)).toEqual([2]);
    expect(s.current).toBeNull();
  });
});

describe("route groups", () => {
  it("groups Hono route patterns", () => {
    expect(routeGroup("/v1/subscribers/:id_or_email")).toBe("subscribers");
    expect(routeGroup("/v1/operations/:id")).toBe("subscribers");
    expect(routeGroup("/v1/stats")).toBe("subscribers");
    expect(routeGroup("/v1/plans/:id")).toBe("plans");
    expect(routeGroup("/search")).toBe("search");
    expect(routeGroup("/v1/admin/dead-letters")).toBe("admin");
    expect(routeGroup("/v1/webhooks/:id/test")).toBe("webhooks");
    expect(routeGroup("/assets/*")).toBe("web");
    expect(routeGroup("/ready")).toBe("health");
    expect(routeGroup("*")).toBe("other");
  });
});
