import { describe, expect, it } from "vitest";
import type { BucketState } from "./bucket.ts";
import { takeTokens } from "./bucket.ts";
import type { LeaseTable, TakeFromBucket } from "./lease.ts";
import { leaseCap, leasingLimiter } from "./lease.ts";

/** The same bucket arithmetic the Durable Object runs, in memory, with a clock the test moves. */
function sharedBucket() {
  const clock = { ms: 1_000_000 };
  let state: BucketState | undefined;
  const calls: Array<{ want: number; giveBack: number; granted: number }> = [];
  const take: TakeFromBucket = async (_id, rule, want, giveBack) => {
    // A round trip: concurrent callers really interleave.
    await new Promise((r) => setTimeout(r, 0));
    const out = takeTokens(state, rule, clock.ms, { want, giveBack });
    state = out.state;
    calls.push({ want, giveBack, granted: out.granted });
    return { decision: out.decision, granted: out.granted };
  };
  return { clock, take, calls, tokens: () => state?.tokens };
}

const isolate = (b: ReturnType<typeof sharedBucket>, leases: LeaseTable = new Map()) =>
  leasingLimiter("durable_object", b.take, { now: () => b.clock.ms }, leases);

describe("isolate token leases", () => {
  it("small limits stay exact: one bucket call per request, exact remaining", async () => {
    const b = sharedBucket();
    const limiter = isolate(b);
    const rule = { limit: 3, periodSeconds: 60 };
    const d = [];
    for (let i = 0; i < 4; i++) d.push(await limiter.take("k", rule));
    expect(d.map((x) => [x.allowed, x.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(b.calls.map((c) => c.want)).toEqual([1, 1, 1, 1]);
  });

  it("sustained traffic grows the lease, so the bucket is asked far less than once per request", async () => {
    const b = sharedBucket();
    const limiter = isolate(b);
    const rule = { limit: 1_000_000, periodSeconds: 60 };
    for (let i = 0; i < 5_000; i++) expect((await limiter.take("k", rule)).allowed).toBe(true);
    // 1, 2, 4 … 256 and then 256 per call.
    expect(b.calls.length).toBeLessThan(40);
    expect(Math.max(...b.calls.map((c) => c.want))).toBe(256);
    expect(1_000_000 - b.tokens()!).toBeLessThanOrEqual(5_000 + 256);
  });

  it("never lets more through than the limit, across isolates and concurrent requests", async () => {
    const b = sharedBucket();
    const rule = { limit: 500, periodSeconds: 3600 };
    const isolates = [isolate(b), isolate(b), isolate(b)];
    // Ten connections per isolate, each sending 40 requests one after another.
    const connection = async (l: ReturnType<typeof isolate>) => {
      const out = [];
      for (let i = 0; i < 40; i++) out.push(await l.take("k", rule));
      return out;
    };
    const results = (await Promise.all(isolates.flatMap((l) => Array.from({ length: 10 }, () => connection(l))))).flat();
    const allowed = results.filter((d) => d.allowed).length;
    expect(allowed).toBeLessThanOrEqual(500);
    // The clock stands still, so nothing expires: whatever an isolate leased, its own requests use.
    expect(allowed).toBeGreaterThanOrEqual(480);
    expect(b.calls.length).toBeLessThan(results.length / 3);
  });

  it("unused leased tokens go back to the bucket with the next call after the lease expires", async () => {
    const b = sharedBucket();
    const limiter = isolate(b);
    const rule = { limit: 1000, periodSeconds: 3600 };
    for (let i = 0; i < 4; i++) await limiter.take("k", rule); // leases 1, 2, then 4 with 3 left
    expect(b.calls.map((c) => c.granted)).toEqual([1, 2, 4]);
    expect(b.tokens()).toBe(1000 - 7);
    b.clock.ms += 1_500; // the lease expired; the refill of 1.5 s at 1000/h adds less than one token
    const d = await limiter.take("k", rule);
    expect(b.calls.at(-1)).toEqual({ want: 1, giveBack: 3, granted: 1 });
    expect(Math.floor(b.tokens()!)).toBe(1000 - 5);
    expect(d.remaining).toBe(1000 - 5);
  });

  it("remembers a refusal until a token can exist, without asking the bucket again", async () => {
    const b = sharedBucket();
    const limiter = isolate(b);
    const rule = { limit: 2, periodSeconds: 60 }; // a token every 30 s
    await limiter.take("k", rule);
    await limiter.take("k", rule);
    const refused = await limiter.take("k", rule);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 30 });
    const calls = b.calls.length;
    b.clock.ms += 500;
    expect((await limiter.take("k", rule)).allowed).toBe(false);
    expect(b.calls.length).toBe(calls);
    // After the lease TTL (1 s) the bucket is asked again; it still refuses, 29 s to go.
    b.clock.ms += 600;
    const again = await limiter.take("k", rule);
    expect(again).toMatchObject({ allowed: false });
    expect(again.retryAfterSeconds).toBe(29);
    expect(b.calls.length).toBe(calls + 1);
  });

  it("a failing bucket fails every waiting request (the middleware then counts them on the isolate's fallback)", async () => {
    const limiter = leasingLimiter(
      "durable_object",
      async () => {
        throw new Error("object unreachable");
      },
      {},
      new Map(),
    );
    const rule = { limit: 100, periodSeconds: 60 };
    const out = await Promise.allSettled([limiter.take("x", rule), limiter.take("x", rule)]);
    expect(out.map((o) => o.status)).toEqual(["rejected", "rejected"]);
  });

  it("a busy bucket's longer lease lifetime is kept: expired tokens go back only after it", async () => {
    const b = sharedBucket();
    const busy: TakeFromBucket = async (...args) => ({ ...(await b.take(...args)), ttlMs: 5_000 });
    const limiter = leasingLimiter("durable_object", busy, { now: () => b.clock.ms }, new Map());
    const rule = { limit: 1000, periodSeconds: 3600 };
    for (let i = 0; i < 4; i++) await limiter.take("k", rule); // leases 1, 2, 4 with 3 left
    b.clock.ms += 3_000; // past the base second, within the bucket's 5 s
    await limiter.take("k", rule);
    expect(b.calls).toHaveLength(3);
    b.clock.ms += 2_500;
    await limiter.take("k", rule);
    expect(b.calls.at(-1)).toMatchObject({ giveBack: 2 });
  });
});

describe("the largest lease", () => {
  it("2 % of the limit, at most 256 tokens, more only when the key's rate needs it", () => {
    expect(leaseCap({ limit: 3, periodSeconds: 60 })).toBe(1);
    expect(leaseCap({ limit: 600, periodSeconds: 60 })).toBe(12);
    expect(leaseCap({ limit: 1_000_000, periodSeconds: 60 })).toBe(256);
    // 100M a minute is 1.67M a second: leases of 6,667 keep refills at 250 calls a second.
    expect(leaseCap({ limit: 100_000_000, periodSeconds: 60 })).toBe(6_667);
  });
});
