// Failed authentication is cheap and limited: unknown key hashes are remembered, and failures are
// limited per client IP, so a flood of random keys reaches neither Postgres nor legitimate callers.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../src/auth/keys.ts";
import { createApp } from "../src/http/app.ts";
import { bearer, createTestKey, databaseRoundTrips, testDb } from "./helpers.ts";
import { inOneBindingWindow } from "./ratelimit-helpers.ts";
import { pool } from "./reliability/support.ts";

const LIMIT = 40;
// Its own env object, so its own parsed config: a small lookup limit for this file only, counted by a
// rate limiting binding declared with the same limit (vitest.config.ts), as wrangler.toml pairs them.
const floodEnv = {
  ...env,
  AUTH_FAILURE_IP_LIMIT: String(LIMIT),
  AUTH_FAILURE_IP_PERIOD_SECONDS: "60",
  KEY_LOOKUP_LIMITER: env.TEST_LIMIT_40_PER_MINUTE,
} as Env;
const app = createApp();
const db = testDb();
let reader: string;
beforeAll(async () => {
  reader = await createTestKey(db, ["subscribers:read"], "auth-failures-reader");
});
afterAll(() => db.close());

// A fresh address per use, never one an earlier test (or run) used.
let nextAddress = 0;
const run = crypto.getRandomValues(new Uint16Array(1))[0]!;
const randomIp = () => `10.${run >> 8}.${run & 255}.${++nextAddress}`;
const randomKey = () => generateApiKey("production");
const get = (key: string, ip: string, path = "/v1/stats") =>
  app.fetch(
    new Request(`http://edge.test${path}`, { headers: { ...bearer(key), "cf-connecting-ip": ip } }),
    floodEnv,
    createExecutionContext(),
  );

describe("a flood of unknown keys from one address", () => {
  it(`reaches Postgres at most ${LIMIT} times, then answers 429 with Retry-After; a known key from the same address keeps working`, async () => {
    const ip = randomIp();
    await inOneBindingWindow(15_000);
    // The legitimate key is known at the edge before the flood.
    expect((await get(reader, ip)).status).toBe(200);

    const before = await databaseRoundTrips();
    const statuses: Record<number, number> = {};
    let retryAfter: string | null = null;
    await pool(Array.from({ length: 400 }, randomKey), 16, async (key) => {
      const res = await get(key, ip);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
      await res.body?.cancel();
    });
    const queries = (await databaseRoundTrips()) - before;

    expect(Object.keys(statuses).sort()).toEqual(["401", "429"]);
    expect(statuses[401]).toBeLessThanOrEqual(LIMIT);
    expect(statuses[429]).toBeGreaterThanOrEqual(400 - LIMIT);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(queries).toBeLessThanOrEqual(LIMIT);

    const legit = await get(reader, ip);
    expect(legit.status).toBe(200);
    // Another address is not affected.
    expect((await get(randomKey(), randomIp())).status).toBe(401);
    console.log(`[auth] flood: ${JSON.stringify({ requests: 400, statuses, database_round_trips: queries, limit: LIMIT })}`);
  }, 60_000);

  it("the same unknown key repeated costs one database lookup, not one per request", async () => {
    const ip = randomIp();
    const key = randomKey();
    const before = await databaseRoundTrips();
    for (let i = 0; i < 20; i++) expect((await get(key, ip)).status).toBe(401);
    expect((await databaseRoundTrips()) - before).toBe(1);
  });

  it("counts an IPv6 client by its /64, so rotating addresses inside it does not escape the limit", async () => {
    const prefix = `2001:db8:${run.toString(16)}:${(++nextAddress).toString(16)}`;
    await inOneBindingWindow(15_000);
    const statuses: Record<number, number> = {};
    await pool(
      Array.from({ length: 120 }, (_, i) => `${prefix}::${(i + 1).toString(16)}`),
      8,
      async (ip) => {
        const res = await get(randomKey(), ip);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        await res.body?.cancel();
      },
    );
    expect(statuses[401]).toBeLessThanOrEqual(LIMIT);
    expect(statuses[429]).toBeGreaterThanOrEqual(120 - LIMIT);
  }, 60_000);
});

describe("a legitimate key's first uses from one address", () => {
  it("a burst of 100 concurrent first uses takes one lookup token, not a hundred: nobody is locked out", async () => {
    const key = await createTestKey(db, ["subscribers:read"], "auth-failures-burst");
    const ip = randomIp();
    const statuses: Record<number, number> = {};
    await pool(
      Array.from({ length: 100 }, () => key),
      100,
      async (k) => {
        const res = await get(k, ip);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        await res.body?.cancel();
      },
    );
    expect(statuses).toEqual({ 200: 100 });
  });
});
