import { describe, expect, it } from "vitest";
import { keepLines, metricWeight } from "./sampling.ts";

/** A seeded source (mulberry32), so the figures below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("log line sampling", () => {
  it("keeps every request at rate 1 and none at rate 0, whatever the source says", () => {
    expect(keepLines(1, () => 0.999_999)).toBe(true);
    expect(keepLines(0, () => 0)).toBe(false);
  });

  it("keeps about `rate` of the requests", () => {
    const random = seeded(24);
    const n = 100_000;
    let kept = 0;
    for (let i = 0; i < n; i++) if (keepLines(0.01, random)) kept++;
    // Binomial(100 000, 0.01): 1 000 ± 31.5 (one standard deviation); 4 of them either side.
    expect(Math.abs(kept - 1_000)).toBeLessThan(4 * 31.5);
  });
});

describe("Analytics Engine sample interval", () => {
  it("writes every 4xx and 5xx with weight 1, and everything at interval 1", () => {
    const never = () => 0.999_999;
    expect(metricWeight(404, 100, never)).toBe(1);
    expect(metricWeight(503, 100, never)).toBe(1);
    expect(metricWeight(200, 1, never)).toBe(1);
  });

  it("writes 1 in `interval` successes with weight `interval`: the weights add up to the requests made", () => {
    const random = seeded(7);
    const n = 200_000;
    const interval = 20;
    let points = 0;
    let estimate = 0;
    for (let i = 0; i < n; i++) {
      const w = metricWeight(200, interval, random);
      if (w > 0) points++;
      estimate += w;
    }
    expect(estimate).toBe(points * interval);
    // interval × Binomial(n, 1/interval): standard deviation √(n (interval − 1)) ≈ 1 949, under 1 %.
    expect(Math.abs(estimate - n)).toBeLessThan(4 * Math.sqrt(n * (interval - 1)));
  });
});
