import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { API_KEY_CACHE_SECONDS, API_KEY_HOT_SECONDS, apiKeyCacheKey } from "../src/auth/api-keys.ts";
import { isolateMemory } from "../src/isolate-memory.ts";
import { apiKeys } from "../src/db/schema.ts";
import { OpenAPIHono } from "@hono/zod-openapi";
import { OPENAPI_PATH, createApp } from "../src/http/app.ts";
import type { AppEnv } from "../src/http/context.ts";
import { ipRateLimit } from "../src/http/middleware/rate-limit.ts";
import { requestContext } from "../src/http/middleware/request-context.ts";
import { onError } from "../src/http/on-error.ts";
import worker from "../src/index.ts";
import { sha256Hex } from "../src/lib/crypto.ts";
import { checkReadiness, readinessProbes } from "../src/ops/readiness.ts";
import { durableObjectLimiter } from "../src/ratelimit/durable-object.ts";
import { upstashLimiter } from "../src/ratelimit/upstash.ts";
import { createRuntime } from "../src/runtime.ts";
import { bearer, call, createTestKey, postJson, testDb } from "./helpers.ts";

const db = testDb();
afterAll(() => db.close());
let admin: string;
let reader: string;
beforeAll(async () => {
  admin = await createTestKey(db, ["admin"], "gateway-admin");
  reader = await createTestKey(db, ["subscribers:read"], "gateway-reader");
});

type Problem = { type: string; title: string; status: number; detail: string; instance: string; request_id: string; [k: string]: unknown };
type CreatedKey = { data: { id: string; key: string; prefix: string; scopes: string[]; rate_limit: unknown; revoked_at: string | null } };

/** The app with some configuration overridden: config is parsed per env object. */
function appWith(overrides: Record<string, unknown>) {
  const app = createApp();
  const e = { ...env, ...overrides } as Env;
  return (path: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test${path}`, init), e, createExecutionContext());
}

const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 6)}`;

async function expectProblem(res: Response, status: number, type: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = await res.json<Problem>();
  expect(body).toMatchObject({ type: `/problems/${type}`, status });
  expect(body.instance).toMatch(/^\//);
  expect(body.title).toBeTruthy();
  expect(body.detail).toBeTruthy();
  expect(body.request_id).toBe(res.headers.get("x-request-id"));
  return body;
}

async function newKey(body: Record<string, unknown>): Promise<CreatedKey["data"]> {
  const res = await postJson("/v1/admin/api-keys", body, bearer(admin));
  expect(res.status).toBe(201);
  return (await res.json<CreatedKey>()).data;
}

describe("authentication and scopes", () => {
  it("401 problem without a key and with an unknown key, with WWW-Authenticate", async () => {
    const none = await call("/v1/stats");
    await expectProblem(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
    const bad = await call("/v1/stats", { headers: bearer("sk_test_not_a_real_key_0123456789") });
    await expectProblem(bad, 401, "unauthorized");
    const malformed = await call("/v1/stats", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    await expectProblem(malformed, 401, "unauthorized");
  });

  it("403 problem naming the missing scope; admin implies every scope", async () => {
    const res = await postJson("/v1/subscribers", { email: "x@example.com", name: "A", last_name: "B" }, bearer(reader));
    const body = await expectProblem(res, 403, "forbidden");
    expect(body.required_scope).toBe("subscribers:write");
    expect((await call("/v1/stats", { headers: bearer(admin) })).status).toBe(200);
  });

  it("admin routes are a 404 to callers without a valid key and a 403 to keys without the admin scope", async () => {
    for (const headers of [{}, bearer("sk_test_not_a_real_key_0123456789")]) {
      await expectProblem(await call("/v1/admin/api-keys", { headers }), 404, "not_found");
      await expectProblem(await postJson("/v1/admin/api-keys", { name: "x", scopes: ["admin"] }, headers), 404, "not_found");
      await expectProblem(await call(`/v1/admin/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers }), 404, "not_found");
      await expectProblem(await call("/v1/admin/plans/sync", { method: "POST", headers }), 404, "not_found");
      // Not even a 405 gives the path away.
      await expectProblem(await call("/v1/admin/api-keys", { method: "PUT", headers }), 404, "not_found");
    }
    await expectProblem(await call("/v1/admin/api-keys", { headers: bearer(reader) }), 403, "forbidden");
  });
});

describe("API keys: creation and revocation", () => {
  it("creates a key shown once, stored only as its SHA-256, that works with exactly its scopes", async () => {
    const res = await postJson("/v1/admin/api-keys", { name: "partner", scopes: ["subscribers:read"] }, bearer(admin));
    expect(res.status).toBe(201);
    const { data } = await res.json<CreatedKey>();
    expect(res.headers.get("location")).toBe(`/v1/admin/api-keys/${data.id}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(data.key).toMatch(/^sk_test_[A-Za-z0-9_-]{43}$/);
    expect(data.key.startsWith(data.prefix)).toBe(true);
    expect(data).toMatchObject({ scopes: ["subscribers:read"], rate_limit: null, revoked_at: null });

    const [row] = await db.db.select().from(apiKeys).where(eq(apiKeys.id, data.id));
    expect(row?.keyHash).toBe(await sha256Hex(data.key));
    expect(JSON.stringify(row)).not.toContain(data.key);

    expect((await call("/v1/stats", { headers: bearer(data.key) })).status).toBe(200);
    await expectProblem(await postJson("/v1/subscribers", {}, bearer(data.key)), 403, "forbidden");

    const list = await call("/v1/admin/api-keys?limit=100", { headers: bearer(admin) });
    expect(list.status).toBe(200);
    const listed = await list.json<{ data: Array<Record<string, unknown>> }>();
    const mine = listed.data.find((k) => k.id === data.id);
    expect(mine).toMatchObject({ name: "partner", prefix: data.prefix });
    expect(mine).not.toHaveProperty("key");
    expect(JSON.stringify(listed)).not.toContain(row?.keyHash);
  });

  it("rejects invalid key requests field by field", async () => {
    const res = await postJson("/v1/admin/api-keys", { name: "", scopes: ["root"], rate_limit: { limit: 0, period_seconds: 60 } }, bearer(admin));
    const body = await expectProblem(res, 422, "validation_failed");
    const fields = (body.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "scopes.0", "rate_limit.limit"]));
  });

  it("a revoked key stops working at once where it was revoked; revoking is idempotent; unknown ids 404", async () => {
    const created = await newKey({ name: "to-revoke", scopes: ["subscribers:read"] });
    // Used once, so its lookup is now cached at the edge.
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    const revoke = await call(`/v1/admin/api-keys/${created.id}`, { method: "DELETE", headers: bearer(admin) });
    expect(revoke.status).toBe(200);
    const revoked = (await revoke.json<CreatedKey>()).data;
    expect(revoked.revoked_at).toBeTruthy();
    await expectProblem(await call("/v1/stats", { headers: bearer(created.key) }), 401, "unauthorized");
    const again = await call(`/v1/admin/api-keys/${created.id}`, { method: "DELETE", headers: bearer(admin) });
    expect((await again.json<CreatedKey>()).data.revoked_at).toBe(revoked.revoked_at);
    await expectProblem(await call(`/v1/admin/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(admin) }), 404, "not_found");
  });

  it("a key revoked elsewhere (only in Postgres) works until its cached lookups expire: 60 s in KV, 10 s in isolate memory", async () => {
    const created = await newKey({ name: "revoked-elsewhere", scopes: ["subscribers:read"] });
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    await db.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, created.id));
    // Still served from the cache: the documented bound, not a bug.
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    const { keys } = await env.CACHE.list({ prefix: apiKeyCacheKey(await sha256Hex(created.key)) });
    expect(keys).toHaveLength(1);
    const expiresIn = (keys[0]!.expiration ?? Infinity) - Date.now() / 1000;
    expect(expiresIn).toBeLessThanOrEqual(API_KEY_CACHE_SECONDS + 1);
    expect(API_KEY_HOT_SECONDS).toBeLessThanOrEqual(10);
    // Once the entries are gone (as they will be by then), the revocation is seen.
    await env.CACHE.delete(keys[0]!.name);
    isolateMemory.cacheEntries.delete(`kv:${keys[0]!.name}`);
    await expectProblem(await call("/v1/stats", { headers: bearer(created.key) }), 401, "unauthorized");
  });
});

describe("rate limits", () => {
  it("a key's own limit: RateLimit headers on every answer, then 429 with Retry-After", async () => {
    const { key } = await newKey({ name: "limited", scopes: ["subscribers:read"], rate_limit: { limit: 3, period_seconds: 60 } });
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

  it("keys without their own limit get the configured default", async () => {
    const key = await createTestKey(db, ["subscribers:read"], "default-limit");
    const fetch = appWith({ DEFAULT_KEY_RATE_LIMIT: "2", DEFAULT_KEY_RATE_PERIOD_SECONDS: "30" });
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    const limited = await fetch("/v1/stats", { headers: bearer(key) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("ratelimit-policy")).toBe("2;w=30");
  });

  it("public routes are limited per client IP", async () => {
    const fetch = appWith({ PUBLIC_IP_RATE_LIMIT: "2" });
    const ip = uniqueIp();
    for (const path of ["/health", "/v1/plans"]) {
      const res = await fetch(path, { headers: { "CF-Connecting-IP": ip } });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("2");
    }
    const limited = await fetch("/docs", { headers: { "CF-Connecting-IP": ip } });
    await expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("retry-after")).toBeTruthy();
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

  it("is the backend when Upstash is configured: a key's limit gives a 429 with headers", async () => {
    const key = await createTestKey(db, ["subscribers:read"], "upstash-limited");
    const fetch = appWith({ UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_URL, UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_TOKEN, DEFAULT_KEY_RATE_LIMIT: "1" });
    expect((await fetch("/v1/stats", { headers: bearer(key) })).status).toBe(200);
    const limited = await fetch("/v1/stats", { headers: bearer(key) });
    await expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("ratelimit-limit")).toBe("1");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});

describe("the per-IP shield and routes with their own envelope", () => {
  it("the Workers Rate Limiting binding refuses before the exact limiter is asked", async () => {
    const fetch = appWith({ IP_SHIELD: { limit: async () => ({ success: false }) } });
    const res = await fetch("/health", { headers: { "CF-Connecting-IP": uniqueIp() } });
    await expectProblem(res, 429, "rate_limited");
    expect(res.headers.get("retry-after")).toBe("60");
  });

  it("ipRateLimit({ onLimited }) lets a route answer 429 in its own envelope, with the same headers", async () => {
    const app = new OpenAPIHono<AppEnv>();
    app.use("*", requestContext());
    app.onError(onError);
    app.get(
      "/search",
      ipRateLimit({ onLimited: (c) => c.json({ data: null, error: { code: "rate_limited", message: "slow down" } }) }),
      (c) => c.json({ data: { events: [] }, error: null }),
    );
    const e = { ...env, PUBLIC_IP_RATE_LIMIT: "1" } as Env;
    const ip = uniqueIp();
    const get = () => app.fetch(new Request("http://edge.test/search", { headers: { "CF-Connecting-IP": ip } }), e, createExecutionContext());
    expect((await get()).status).toBe(200);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await limited.json()).toEqual({ data: null, error: { code: "rate_limited", message: "slow down" } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit-policy")).toBe("1;w=60");
  });
});

describe("problems for every non-2xx", () => {
  it("404 for an unknown route", async () => {
    const body = await expectProblem(await call("/v1/nothing-here"), 404, "not_found");
    expect(body.instance).toBe("/v1/nothing-here");
  });

  it("405 with Allow for a known path and the wrong method", async () => {
    const res = await call("/v1/stats", { method: "DELETE", headers: bearer(admin) });
    await expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    const sub = await call(`/v1/subscribers/${crypto.randomUUID()}`, { method: "POST" });
    await expectProblem(sub, 405, "method_not_allowed");
    expect(sub.headers.get("allow")).toBe("GET, HEAD");
  });

  it("413 above the configured body limit, on any route", async () => {
    const fetch = appWith({ MAX_BODY_BYTES: "2048" });
    const res = await fetch("/v1/admin/api-keys", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...bearer(admin) },
      body: JSON.stringify({ name: "x".repeat(3000), scopes: ["admin"] }),
    });
    await expectProblem(res, 413, "payload_too_large");
    const big = await postJson("/v1/subscribers", { email: "a@b.io", name: "x".repeat(20_000), last_name: "B" }, bearer(admin));
    await expectProblem(big, 413, "payload_too_large");
  });

  it("415 for a body that is not JSON", async () => {
    const res = await call("/v1/admin/api-keys", { method: "POST", headers: { "Content-Type": "text/plain", ...bearer(admin) }, body: "name=x" });
    await expectProblem(res, 415, "unsupported_media_type");
  });

  it("500 without internals", async () => {
    const app = createApp();
    app.get("/boom", () => {
      throw new Error("secret internals: password=hunter2");
    });
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.fetch(new Request("http://edge.test/boom"), env, createExecutionContext());
    spy.mockRestore();
    const body = await expectProblem(res, 500, "internal");
    expect(JSON.stringify(body)).not.toContain("hunter2");
  });
});

describe("middleware chain", () => {
  it("echoes a well-formed X-Request-Id on successes and problems alike", async () => {
    for (const path of ["/health", "/v1/stats", "/nope"]) {
      const res = await call(path, { headers: { "X-Request-Id": "trace-42" } });
      expect(res.headers.get("x-request-id")).toBe("trace-42");
    }
    const body = await (await call("/nope", { headers: { "X-Request-Id": "trace-43" } })).json<Problem>();
    expect(body.request_id).toBe("trace-43");
  });

  it("sets secure headers and Server-Timing", async () => {
    const res = await call("/v1/stats", { headers: bearer(admin) });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    expect(res.headers.get("strict-transport-security")).toBeTruthy();
    expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
    expect(res.headers.get("server-timing")).toMatch(/cache;desc="?(hit|miss)/);
  });

  it("CORS: preflight allowed for any origin by default, exposing the headers clients need", async () => {
    const res = await call("/v1/subscribers", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const get = await call("/health", { headers: { Origin: "https://app.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
    expect(get.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });

  it("CORS: only the configured origins when CORS_ORIGINS lists them", async () => {
    const fetch = appWith({ CORS_ORIGINS: "https://a.example, https://b.example" });
    const ok = await fetch("/health", { headers: { Origin: "https://b.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://b.example");
    expect(ok.headers.get("vary")).toMatch(/origin/i);
    const other = await fetch("/health", { headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // Without Origin (not a browser) no CORS headers, but the answer still varies by Origin.
    const server = await fetch("/health");
    expect(server.status).toBe(200);
    expect(server.headers.get("access-control-allow-origin")).toBeNull();
    expect(server.headers.get("vary")).toMatch(/origin/i);
  });

  it("one JSON log line per request with route, status, ms, cache and key id, never the key", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const fetch = appWith({ LOG_LEVEL: "info" });
    try {
      await fetch("/v1/stats", { headers: bearer(admin) });
    } finally {
      spy.mockRestore();
    }
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === "http_request");
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ route: "/v1/stats", status: 200, method: "GET" });
    expect(typeof requests[0]!.ms).toBe("number");
    expect(requests[0]!.cache).toMatch(/hit|miss/);
    expect(requests[0]!.key_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.join("\n")).not.toContain(admin);
  });
});

describe("metrics (Analytics Engine)", () => {
  function fakeDataset() {
    const points: AnalyticsEngineDataPoint[] = [];
    return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p ?? {}) } };
  }

  it("writes one data point per request when bound", async () => {
    const { points, dataset } = fakeDataset();
    const fetch = appWith({ METRICS: dataset });
    await fetch("/v1/stats", { headers: bearer(admin) });
    await fetch("/nope");
    expect(points).toHaveLength(2);
    expect(points[0]!.blobs?.slice(0, 4)).toEqual(["request", "/v1/stats", "GET", "2xx"]);
    expect(points[0]!.blobs?.[4]).toMatch(/hit|miss/);
    expect(points[0]!.blobs?.[5]).toMatch(/^[0-9a-f-]{36}$/);
    expect(points[0]!.doubles?.[1]).toBe(200);
    expect(points[0]!.doubles?.[0]).toBeGreaterThanOrEqual(0);
    expect(points[1]!.blobs?.[3]).toBe("4xx");
  });

  it("writes a data point per cron run, and nothing breaks when unbound", async () => {
    const { points, dataset } = fakeDataset();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), { ...env, METRICS: dataset } as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(points.map((p) => p.blobs?.slice(0, 2))).toEqual([["cron_run", "maintenance"]]);
    const unbound = { ...env } as Partial<Env>;
    delete unbound.METRICS;
    const app = createApp();
    expect((await app.fetch(new Request("http://edge.test/health"), unbound as Env, createExecutionContext())).status).toBe(200);
  });
});

describe("readiness", () => {
  it("reports the last successful plan sync's age and the provider breaker's state", async () => {
    const res = await call("/ready");
    const body = await res.json<{ checks: Record<string, Record<string, unknown>> }>();
    expect(body.checks.provider_breaker).toMatchObject({ ok: true, state: expect.stringMatching(/^(closed|open|half_open|isolated)$/) });
    expect(body.checks.plan_sync).toMatchObject({ ok: true, stale: expect.any(Boolean) });
    expect(body.checks.plan_sync).toHaveProperty("age_seconds");
    expect(body.checks.plan_sync).toHaveProperty("last_success_at");
  });

  it("names every check, and takes extra checks (plan sync age, breaker state) without code changes here", async () => {
    const rt = createRuntime(env);
    try {
      const result = await checkReadiness(rt, {
        ...readinessProbes,
        plan_sync: async () => ({ age_seconds: 12 }),
        breaker: async () => {
          throw new Error("open");
        },
      });
      expect(result.status).toBe("not_ready");
      expect(Object.keys(result.checks).sort()).toEqual(["breaker", "cache", "plan_sync", "postgres", "provider_breaker", "queue"]);
      expect(result.checks.plan_sync).toMatchObject({ ok: true, age_seconds: 12 });
      expect(result.checks.breaker).toMatchObject({ ok: false, error: "Error: open" });
      expect(result.checks.cache).toMatchObject({ ok: true, backend: "kv" });
    } finally {
      await rt.dispose();
    }
  });
});
