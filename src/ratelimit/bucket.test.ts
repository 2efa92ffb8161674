import { describe, expect, it } from "vitest";
import type { BucketState } from "./bucket.ts";
import { takeTokens } from "./bucket.ts";

const rule = { limit: 3, periodSeconds: 60 };

function run(times: number[], r = rule) {
  let state: BucketState | undefined;
  return times.map((t) => {
    const out = takeTokens(state, r, t);
    state = out.state;
    return out.decision;
  });
}

describe("token bucket", () => {
  it("allows a burst of `limit`, then refuses with the wait for one token", () => {
    const d = run([0, 0, 0, 0]);
    expect(d.map((x) => x.allowed)).toEqual([true, true, true, false]);
    expect(d.map((x) => x.remaining)).toEqual([2, 1, 0, 0]);
    // One token refills every 20 s at 3 per minute.
    expect(d[3]!.retryAfterSeconds).toBe(20);
    expect(d[3]!.resetSeconds).toBe(60);
  });

  it("refills continuously, never above the limit", () => {
    const d = run([0, 0, 0, 20_000, 20_001, 10 * 60_000]);
    expect(d.map((x) => x.allowed)).toEqual([true, true, true, true, false, true]);
    expect(d[5]!.remaining).toBe(2);
  });

  it("a smaller new limit caps what is left", () => {
    let { state } = takeTokens(undefined, { limit: 100, periodSeconds: 60 }, 0);
    const out = takeTokens(state, { limit: 2, periodSeconds: 60 }, 0);
    state = out.state;
    expect(out.decision).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
  });
});
