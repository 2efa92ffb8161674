import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect } from "vitest";
import { OPENAPI_PATH } from "../src/http/app.ts";
import type { AppEnv } from "../src/http/context.ts";
import { ipRateLimit } from "../src/http/middleware/rate-limit.ts";
import { requestContext } from "../src/http/middleware/request-context.ts";
import { onError } from "../src/http/on-error.ts";
import { durableObjectLimiter } from "../src/ratelimit/durable-object.ts";
import { upstashLimiter } from "../src/ratelimit/upstash.ts";
import { newKey } from "./gateway-helpers.ts";
import { it } from "./harness.ts";
import { appWith, bearer, call, createTestKey, expectProblem } from "./helpers.ts";
import { inOneBindingWindow } from "./ratelimit-helpers.ts";

const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 6)}`;

describe("rate limits", () => {
  it("a key's own limit: RateLimit headers on every answer, then 429 with Retry-After", async ({ admin, reader }) => {
    const { key } = await newKey(admin, { name: "limited", scopes: ["subscribers:read"], rate_limit: { limit: 3, period_seconds: 60 } });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("/v1/stats", { headers: bearer(key) });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      expect(res.headers.get("ratelimit-policy")).toBe("3;w=60");
      remaining.push(res.headers.get("ratelimit-remaining"));
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const limited = await call("/v1/stats", { headers: bearer(key) });
    const body = await expectProblem(limited, 429, "rate_limited");
    expect(body.detail).toMatch(/3 requests per 60 s/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(limited.headers.get("ratelimit-limit")).toBe("3");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
    expect(limited.headers.get("ratelimit-policy")).toBe("3;w=60");
    // Other keys are not affected.
    expect((await call("/v1/stats", { headers: bearer(reader) })).status).toBe(200);
  });

  it("keys without their own limit get the configured default", async ({ db }) => {
    const key = await createTestKey(db, ["subscribers:read"], "default-limit");
    const fetch = appWith({ DEFAULT_KEY_RATE_LIMIT: "2", DEFAULT_KEY_RATE_PERIOD_SECONDS: "30" });
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    const limited = await fetch("/v1/stats", { headers: bearer(key) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("ratelimit-policy")).toBe("2;w=30");
  });

  it("public routes are limited per client IP, on the rate limiting binding", async () => {
    // The binding that counts, and the var that says its limit, as wrangler.toml and the schema pair them.
    const fetch = appWith({ PUBLIC_IP_RATE_LIMIT: "2", PUBLIC_IP_LIMITER: env.TEST_LIMIT_2_PER_MINUTE });
    const ip = uniqueIp();
    await inOneBindingWindow();
    for (const path of ["/health", "/v1/plans"]) {
      const res = await fetch(path, { headers: { "CF-Connecting-IP": ip } });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("2");
      expect(res.headers.get("ratelimit-policy")).toBe("2;w=60");
      // The binding says only whether a request fits: no remainder is guessed.
      expect(res.headers.get("ratelimit-remaining")).toBeNull();
    }
    const limited = await fetch("/docs", { headers: { "CF-Connecting-IP": ip } });
    await expectProblem(limited, 429, "rate_limited");
    // At most one window until the binding's count starts again.
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    await expectProblem(await fetch(OPENAPI_PATH, { headers: { "CF-Connecting-IP": ip } }), 429, "rate_limited");
    await expectProblem(await fetch(`/v1/plans/${crypto.randomUUID()}`, { headers: { "CF-Connecting-IP": ip } }), 429, "rate_limited");
    // /search keeps its own envelope for the 429 too.
    const search = await fetch("/search", { headers: { "CF-Connecting-IP": ip } });
    expect(search.status).toBe(429);
    expect(await search.json()).toMatchObject({ data: null, error: { code: "rate_limited" } });
    expect(search.headers.get("ratelimit-limit")).toBe("2");
    expect(Number(search.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another address has its own allowance.
    expect((await fetch("/health", { headers: { "CF-Connecting-IP": uniqueIp() } })).status).toBe(200);
  });
});

describe("token leases from the Durable Object bucket", () => {
  it("isolates serving one busy key never let more through than its limit", async () => {
    // Three lease tables stand for three isolates, all taking from the one real object.
    const isolates = [new Map(), new Map(), new Map()].map((leases) => durableObjectLimiter(env.RATE_LIMITER, leases));
    const rule = { limit: 400, periodSeconds: 3600 };
    const id = `key:lease-${crypto.randomUUID()}`;
    // Ten connections per isolate, each sending requests one after another, 600 in all.
    const connection = async (l: (typeof isolates)[number]) => {
      const out = [];
      for (let i = 0; i < 20; i++) out.push(await l.take(id, rule));
      return out;
    };
    const decisions = (await Promise.all(isolates.flatMap((l) => Array.from({ length: 10 }, () => connection(l))))).flat();
    const allowed = decisions.filter((d) => d.allowed).length;
    expect(allowed).toBeLessThanOrEqual(400);
    // Only tokens still leased to an isolate when its connections stop can be missing (a few).
    expect(allowed).toBeGreaterThanOrEqual(370);
    const refused = decisions.find((d) => !d.allowed)!;
    expect(refused).toMatchObject({ limit: 400, remaining: 0, periodSeconds: 3600 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });
});

// @upstash/ratelimit against a real redis-server behind the local Upstash REST bridge.
describe.skipIf(!env.TEST_UPSTASH_URL)("rate limits on Upstash", () => {
  it("the limiter counts per identifier with the rule given at call time", async () => {
    const limiter = upstashLimiter({ url: env.TEST_UPSTASH_URL, token: env.TEST_UPSTASH_TOKEN });
    const id = `t:${crypto.randomUUID()}`;
    const d = [];
    for (let i = 0; i < 3; i++) d.push(await limiter.take(id, { limit: 2, periodSeconds: 30 }));
    expect(d.map((x) => x.allowed)).toEqual([true, true, false]);
    expect(d[2]).toMatchObject({ limit: 2, remaining: 0, periodSeconds: 30 });
    expect(d[2]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((await limiter.take(`t:${crypto.randomUUID()}`, { limit: 2, periodSeconds: 30 })).allowed).toBe(true);
  });

  it("is the backend when Upstash is configured: a key's limit gives a 429 with headers", async ({ db }) => {
    const key = await createTestKey(db, ["subscribers:read"], "upstash-limited");
    const fetch = appWith({
      UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_URL,
      UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_TOKEN,
      DEFAULT_KEY_RATE_LIMIT: "1",
    });
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    const limited = await fetch("/v1/stats", { headers: bearer(key) });
    await expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("ratelimit-limit")).toBe("1");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});

describe("routes with their own envelope", () => {
  it("ipRateLimit({ onLimited }) lets a route answer 429 in its own envelope, with the same headers", async () => {
    const app = new OpenAPIHono<AppEnv>();
    app.use("*", requestContext());
    app.onError(onError);
    app.get(
      "/search",
      ipRateLimit({ onLimited: (c) => c.json({ data: null, error: { code: "rate_limited", message: "slow down" } }) }),
      (c) => c.json({ data: { events: [] }, error: null }),
    );
    const e = { ...env, PUBLIC_IP_RATE_LIMIT: "1", PUBLIC_IP_LIMITER: env.TEST_LIMIT_1_PER_MINUTE } as Env;
    const ip = uniqueIp();
    await inOneBindingWindow();
    const get = () =>
      app.fetch(new Request("http://edge.test/search", { headers: { "CF-Connecting-IP": ip } }), e, createExecutionContext());
    expect((await get()).status).toBe(200);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await limited.json()).toEqual({ data: null, error: { code: "rate_limited", message: "slow down" } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit-policy")).toBe("1;w=60");
  });
});
