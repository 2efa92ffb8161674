import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstashStore } from "../src/cache/upstash.ts";
import { subscribers } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import type { SubscriberBody } from "./helpers.ts";
import { bearer, createTestKey, databaseDown, testDb, uniqueDomain } from "./helpers.ts";

const available = Boolean(env.TEST_UPSTASH_URL);
const db = testDb();
afterAll(() => db.close());

// The Upstash store is exercised against a real redis-server behind a local Upstash REST bridge
// (test/setup/upstash-bridge.ts). Without redis-server on the machine these tests cannot run.
describe.skipIf(!available)("Upstash Redis cache (real redis-server behind an Upstash REST bridge)", () => {
  const upstashEnv = { ...env, UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_URL, UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_TOKEN };
  const redis = new Redis({ url: env.TEST_UPSTASH_URL || "http://unused.invalid", token: env.TEST_UPSTASH_TOKEN || "x" });
  const app = createApp();
  const get = async (path: string, headers: Record<string, string>) =>
    await app.fetch(new Request(`http://edge.test${path}`, { headers }), upstashEnv, createExecutionContext());
  let reader: string;
  beforeAll(async () => {
    reader = await createTestKey(db, ["subscribers:read"]);
  });

  it("the store round-trips JSON values with a TTL and deletes them", async () => {
    const store = upstashStore({ url: env.TEST_UPSTASH_URL, token: env.TEST_UPSTASH_TOKEN });
    const key = `t:${crypto.randomUUID()}`;
    await store.put(key, { v: { n: 1, s: "é" } }, { ttlSeconds: 120 });
    expect(await store.get(key)).toEqual({ v: { n: 1, s: "é" } });
    expect(await redis.ttl(key)).toBeGreaterThan(100);
    await store.delete(key);
    expect(await store.get(key)).toBeNull();
  });

  it("reads are cache-aside through Redis: a miss fills it, a hit needs no Postgres", async () => {
    const id = crypto.randomUUID();
    const email = `redis@${uniqueDomain()}`;
    await db.db.insert(subscribers).values({ id, email, name: "R", lastName: "S", status: "active" });
    const miss = await get(`/v1/subscribers/${id}`, bearer(reader));
    expect(miss.status).toBe(200);
    expect(await redis.get<{ v: { email: string } }>(`sub:v1:id:${id}`)).toMatchObject({ v: { email } });
    expect(await env.CACHE.get(`sub:v1:id:${id}`)).toBeNull();

    const hit = await databaseDown(() => get(`/v1/subscribers/${id}`, bearer(reader)));
    expect(hit.status).toBe(200);
    expect((await hit.json<SubscriberBody>()).data.email).toBe(email);
  });

  it("an unreachable Upstash never fails a read: Postgres answers", async () => {
    const id = crypto.randomUUID();
    await db.db.insert(subscribers).values({ id, email: `down@${uniqueDomain()}`, name: "R", lastName: "S", status: "active" });
    const broken = { ...upstashEnv, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };
    const res = await app.fetch(
      new Request(`http://edge.test/v1/subscribers/${id}`, { headers: bearer(reader) }),
      broken,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
  });
});
