import { describe, expect, it } from "vitest";
import { requestCellsQuery } from "../db/analytics-engine.ts";
import { stepsOfCells } from "./requests.ts";
import { LATENCY_BOUNDS_MS } from "./rollup.ts";

const cell = (route_group: string, b: number, bucket: number, n: number, extra: Partial<Record<string, number>> = {}) => ({
  route_group,
  b,
  bucket,
  n,
  errors: 0,
  lookups: 0,
  hits: 0,
  sum_ms: 0,
  ...extra,
});

describe("request series from Analytics Engine", () => {
  it("counts each point as its weight times Analytics Engine's own sample interval, per group, step and bucket", () => {
    const q = requestCellsQuery({ startMs: 1_800_000_000_000, endMs: 1_800_000_360_000, stepMs: 60_000 });
    expect(q).toContain("SUM(_sample_interval * double4) AS n");
    expect(q).toContain("intDiv(toUInt32(timestamp) - 1800000000, 60) AS b");
    expect(q).toContain(
      "timestamp >= toDateTime('2027-01-15 08:00:00', 'Etc/UTC') AND timestamp < toDateTime('2027-01-15 08:06:00', 'Etc/UTC')",
    );
    expect(q).toContain("GROUP BY route_group, b, bucket");
  });

  it("folds the buckets of a group and step into one histogram, as the rollups hold it", () => {
    const steps = stepsOfCells([
      cell("subscribers", 0, 2, 30, { errors: 1, lookups: 30, hits: 20, sum_ms: 120 }),
      cell("subscribers", 0, 5, 10, { lookups: 10, hits: 10, sum_ms: 400 }),
      cell("subscribers", 1, 0, 5),
      cell("health", 0, 99, 2),
      cell("", 0, 0, 7),
    ]);
    const buckets = (set: Record<number, number>) => Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => set[i] ?? 0);
    expect(steps).toEqual([
      // A bucket beyond the layout counts in +Inf; a point without a group (written before groups were) in none.
      { group: "health", b: 0, count: 2, errors: 0, lookups: 0, hits: 0, sum_ms: 0, buckets: buckets({ 12: 2 }) },
      { group: "subscribers", b: 0, count: 40, errors: 1, lookups: 40, hits: 30, sum_ms: 520, buckets: buckets({ 2: 30, 5: 10 }) },
      { group: "subscribers", b: 1, count: 5, errors: 0, lookups: 0, hits: 0, sum_ms: 0, buckets: buckets({ 0: 5 }) },
    ]);
  });
});
