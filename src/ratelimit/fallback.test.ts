import { describe, expect, it } from "vitest";
import { isolateFallback, localRule } from "./fallback.ts";
import { leaseCap } from "./lease.ts";

const at = (clock: { ms: number }) => isolateFallback({ now: () => clock.ms, tripMs: 1000 }, new Map());

describe("the isolate's fallback when a limiter cannot answer", () => {
  it("holds at most one full lease, refilled one lease a second, never faster than the rule", () => {
    // 600/min: leases of 12 (2 %), refilled at the rule's own 10 a second.
    expect(localRule({ limit: 600, periodSeconds: 60 })).toEqual({ limit: 12, periodSeconds: 1.2 });
    // 3/min: one token, refilled at the rule's 1 per 20 s.
    expect(localRule({ limit: 3, periodSeconds: 60 })).toEqual({ limit: 1, periodSeconds: 20 });
    // 1M/min: the largest lease (256) once a second, below the rule's 16,667 a second.
    const big = { limit: 1_000_000, periodSeconds: 60 };
    expect(localRule(big)).toEqual({ limit: leaseCap(big), periodSeconds: 1 });
  });

  it("still limits: a burst past the local share is refused with Retry-After, the rule on the answer", () => {
    const clock = { ms: 5_000 };
    const f = at(clock);
    const rule = { limit: 600, periodSeconds: 60 };
    const d = Array.from({ length: 20 }, () => f.take("key:a", rule));
    expect(d.filter((x) => x.allowed)).toHaveLength(12);
    const refused = d.at(-1)!;
    expect(refused).toMatchObject({ allowed: false, limit: 600, periodSeconds: 60, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // A second later the rule's rate is back (10 a second), no more.
    clock.ms += 1_000;
    expect(Array.from({ length: 20 }, () => f.take("key:a", rule)).filter((x) => x.allowed)).toHaveLength(10);
    // Another identity has its own bucket.
    expect(f.take("key:b", rule).allowed).toBe(true);
  });

  it("a small limit stays small: 3 per minute lets one through, then waits 20 s", () => {
    const clock = { ms: 0 };
    const f = at(clock);
    const rule = { limit: 3, periodSeconds: 60 };
    expect([f.take("k", rule), f.take("k", rule)].map((x) => x.allowed)).toEqual([true, false]);
    clock.ms += 19_000;
    expect(f.take("k", rule).allowed).toBe(false);
    clock.ms += 1_000;
    expect(f.take("k", rule).allowed).toBe(true);
  });

  it("a failure keeps the identity on the local bucket for tripMs, then its limiter is asked again", () => {
    const clock = { ms: 0 };
    const f = at(clock);
    expect(f.active("k")).toBe(false);
    f.trip("k");
    expect(f.active("k")).toBe(true);
    expect(f.active("other")).toBe(false);
    clock.ms += 999;
    expect(f.active("k")).toBe(true);
    clock.ms += 1;
    expect(f.active("k")).toBe(false);
  });

  it("is bounded: past maxEntries the oldest identity is forgotten", () => {
    const table = new Map();
    const f = isolateFallback({ maxEntries: 2, now: () => 0 }, table);
    for (const id of ["a", "b", "c"]) f.trip(id);
    expect([...table.keys()]).toEqual(["b", "c"]);
  });
});
