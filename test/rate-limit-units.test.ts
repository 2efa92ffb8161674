// Rate limits without a billed storage write per request: per-key buckets in Durable Object memory
// (do_rows_written 0 on every line), per-IP limits on the rate limiting binding (no object call), and
// limits that still hold when their limiter fails. Units are read from each request's log line, as
// test/billable-units.test.ts reads them.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { generateApiKey } from "../src/auth/keys.ts";
import { createApp } from "../src/http/app.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import type { RateLimiterObject } from "../src/ratelimit/durable-object.ts";
import { newKey } from "./gateway-helpers.ts";
import { it } from "./harness.ts";
import { bearer, captureLogLines } from "./helpers.ts";
import { failingBinding } from "./ratelimit-helpers.ts";

const app = createApp();
const lines = captureLogLines();
const verbose = { ...env, LOG_LEVEL: "info" } as Env;
const uniqueIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 6)}`;

type Line = Record<string, unknown>;
const parsed = (): Line[] =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
const requestLines = () => parsed().filter((l) => l.event === "http_request");
const sum = (ls: Line[], field: string) => ls.reduce((n, l) => n + Number(l[field]), 0);

async function get(e: Env, path: string, headers: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, { headers }), e, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}

/** `n` requests over `connections` connections, each sending one after another. */
async function statuses(n: number, connections: number, send: () => Promise<Response>): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  let left = n;
  const connection = async () => {
    while (left-- > 0) {
      const res = await send();
      out[res.status] = (out[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, connection));
  return out;
}

describe("no storage write per request", () => {
  it("an authenticated read writes no Durable Object row, cold or warm; warm reads mostly make no object call", async ({ reader }) => {
    resetIsolateMemory();
    await get(verbose, "/v1/stats", bearer(reader));
    const cold = requestLines().at(-1)!;
    expect(cold).toMatchObject({ status: 200, do_rows_written: 0 });
    expect(cold.do_requests).toBe(1);
    lines.length = 0;
    for (let i = 0; i < 40; i++) expect((await get(verbose, "/v1/stats", bearer(reader))).status).toBe(200);
    const warm = requestLines();
    expect(warm).toHaveLength(40);
    expect(sum(warm, "do_rows_written")).toBe(0);
    // Leases of 2, 4, 8, 16 … tokens: a handful of object calls for 40 requests.
    expect(sum(warm, "do_requests")).toBeLessThanOrEqual(6);
    expect(warm.at(-1)).toMatchObject({ do_requests: 0, do_rows_written: 0 });
  });

  it("public routes and /search are limited on the binding: no Durable Object call at all", async () => {
    const ip = uniqueIp();
    for (const path of ["/health", "/v1/plans", "/search"]) await get(verbose, path, { "CF-Connecting-IP": ip });
    const seen = requestLines();
    expect(seen).toHaveLength(3);
    for (const l of seen) expect(l).toMatchObject({ do_requests: 0, do_rows_written: 0 });
  });
});

describe("the per-key limit stays exact and global", () => {
  it("refuses at exactly the key's limit, however concurrent", async ({ admin }) => {
    // Below 50 per period a lease is one token: every request is counted by the object itself.
    const { key } = await newKey(admin, {
      name: "exact-40",
      scopes: ["subscribers:read"],
      rate_limit: { limit: 40, period_seconds: 3600 },
    });
    expect(await statuses(100, 8, () => get(env, "/v1/stats", bearer(key)))).toEqual({ 200: 40, 429: 60 });
  });

  it("with leases, never above the limit; short of it only by what the isolate still holds", async ({ admin }) => {
    const limit = 300;
    const { key } = await newKey(admin, { name: "leased-300", scopes: ["subscribers:read"], rate_limit: { limit, period_seconds: 3600 } });
    lines.length = 0;
    const out = await statuses(400, 10, () => get(verbose, "/v1/stats", bearer(key)));
    expect(out[200]).toBeLessThanOrEqual(limit);
    // Leases are at most 2 % of the limit (6 tokens).
    expect(out[200]).toBeGreaterThanOrEqual(limit - 6);
    const seen = requestLines();
    expect(sum(seen, "do_rows_written")).toBe(0);
    expect(sum(seen, "do_requests")).toBeLessThan(400);
  });
});

describe("a limiter that fails still limits", () => {
  it("the key's Durable Object failing: the isolate's fallback bucket refuses past its share, and the object is asked at most once a second", async ({
    admin,
  }) => {
    resetIsolateMemory();
    // 120 a minute: leases of 2, so the fallback holds 2 tokens and refills 2 a second.
    const { key } = await newKey(admin, { name: "do-down", scopes: ["subscribers:read"], rate_limit: { limit: 120, period_seconds: 60 } });
    let objectCalls = 0;
    const failing = {
      getByName: () => ({
        take: async () => {
          objectCalls += 1;
          throw new Error("Durable Object is overloaded");
        },
      }),
    } as unknown as DurableObjectNamespace<RateLimiterObject>;
    const down = { ...verbose, RATE_LIMITER: failing } as Env;
    const started = Date.now();
    const out: Record<number, number> = {};
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const res = await get(down, "/v1/stats", bearer(key));
      out[res.status] = (out[res.status] ?? 0) + 1;
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    const seconds = (Date.now() - started) / 1000;
    expect(Object.keys(out).sort()).toEqual(["200", "429"]);
    // Never open: at most the local share (2) plus its refill (2 a second) went through.
    expect(out[200]).toBeLessThanOrEqual(2 + Math.ceil(2 * seconds));
    expect(out[429]).toBeGreaterThanOrEqual(40 - 2 - Math.ceil(2 * seconds));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // One call trips the fallback for a second: a struggling object is not hammered.
    expect(objectCalls).toBeLessThanOrEqual(1 + Math.ceil(seconds));
    const errors = parsed().filter((l) => l.event === "rate_limiter_error");
    expect(errors.length).toBe(objectCalls);
    expect(errors[0]).toMatchObject({ backend: "durable_object", fallback: "isolate_bucket" });
  });

  it("the per-IP binding failing: public routes are limited by the fallback bucket, not let through", async () => {
    resetIsolateMemory();
    const down = { ...verbose, PUBLIC_IP_RATE_LIMIT: "120", PUBLIC_IP_LIMITER: failingBinding } as Env;
    const ip = uniqueIp();
    const started = Date.now();
    const out: Record<number, number> = {};
    for (let i = 0; i < 30; i++) {
      const res = await get(down, "/health", { "CF-Connecting-IP": ip });
      out[res.status] = (out[res.status] ?? 0) + 1;
    }
    const seconds = (Date.now() - started) / 1000;
    expect(out[200]).toBeGreaterThanOrEqual(1);
    expect(out[200]).toBeLessThanOrEqual(2 + Math.ceil(2 * seconds));
  });

  it("the key lookup binding failing: an unknown key is not looked up (503, Retry-After), a known key still works", async ({ reader }) => {
    const down = { ...verbose, KEY_LOOKUP_LIMITER: failingBinding } as Env;
    const ip = uniqueIp();
    // Known at the edge through the normal path first.
    expect((await get(verbose, "/v1/stats", { ...bearer(reader), "CF-Connecting-IP": ip })).status).toBe(200);
    const unknown = await get(down, "/v1/stats", { ...bearer(generateApiKey("test")), "CF-Connecting-IP": ip });
    expect(unknown.status).toBe(503);
    expect(Number(unknown.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await get(down, "/v1/stats", { ...bearer(reader), "CF-Connecting-IP": ip })).status).toBe(200);
  });
});
