import { describe, expect, it } from "vitest";
import { BASE_LEASE_TTL_MS, leaseTtlMs, MAX_LEASE_TTL_MS, newCallRate, observeCall, TARGET_CALLS_PER_SECOND } from "./load.ts";

describe("an object's own call rate", () => {
  it("counts calls per 1 s window and reports the busier of the current and the previous one", () => {
    const r = newCallRate();
    let seen = 0;
    for (let i = 0; i < 300; i++) seen = observeCall(r, 10_000 + i);
    expect(seen).toBe(300);
    // Early in the next window the previous one still speaks.
    expect(observeCall(r, 11_000)).toBe(300);
    expect(observeCall(r, 11_500)).toBe(300);
    // After a quiet window the rate starts again from what is seen now.
    expect(observeCall(r, 13_500)).toBe(1);
  });
});

describe("lease lifetime from the object's call rate", () => {
  it("stays at the base below the target", () => {
    expect(leaseTtlMs(0)).toBe(BASE_LEASE_TTL_MS);
    expect(leaseTtlMs(TARGET_CALLS_PER_SECOND)).toBe(BASE_LEASE_TTL_MS);
  });

  it("grows in proportion above it, so N isolates calling once per lifetime come back to the target", () => {
    const isolates = 1_500;
    // One call per isolate per base lifetime: 1,500 calls a second.
    const ttl = leaseTtlMs(isolates / (BASE_LEASE_TTL_MS / 1000));
    expect(ttl).toBe(6_000);
    expect(isolates / (ttl / 1000)).toBe(TARGET_CALLS_PER_SECOND);
  });

  it("is capped, beyond which the object may be overloaded and callers fall back (src/ratelimit/fallback.ts)", () => {
    expect(leaseTtlMs(1_000_000)).toBe(MAX_LEASE_TTL_MS);
  });
});
