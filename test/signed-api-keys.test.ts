import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect } from "vitest";
import { settleRevocations } from "../src/auth/index.ts";
import { mintSignedKey } from "../src/auth/signed-keys.ts";
import { apiKeys } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import worker from "../src/index.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import type { Units } from "../src/lib/meter.ts";
import { newUnits } from "../src/lib/meter.ts";
import { createRuntime } from "../src/runtime.ts";
import type { Subscriber } from "../src/subscribers/schema.ts";
import { newKey } from "./gateway-helpers.ts";
import { bearer, captureLogLines, logRecords, setProviderDocuments, uniqueDomain } from "./helpers.ts";
import { it } from "./plan-helpers.ts";
import { runBatch, subscriberMessage, updateMessage } from "./queue-helpers.ts";

// Signed API keys (src/auth/signed-keys.ts) and the Cache API level of the read-through, pinned by
// the meter of billable units on each request's log line (src/lib/meter.ts), on the real local KV,
// Cache API, Durable Objects and Postgres. "Another isolate" is resetIsolateMemory(): what a fresh
// isolate in this same location holds. The suite runs with CACHE_API_READS=off (vitest.config.ts);
// `edgeOn` is production's setting.

const app = createApp();
const lines = captureLogLines();
const base = { ...env, LOG_LEVEL: "info" } as Env;
const edgeOn = { ...base, CACHE_API_READS: "on" } as Env;
const UNIT_NAMES = Object.keys(newUnits()) as (keyof Units)[];

function unitsOfLast(): Units {
  const line = logRecords(lines)
    .filter((l) => l.event === "http_request")
    .at(-1);
  if (!line) throw new Error("no http_request line");
  return Object.fromEntries(UNIT_NAMES.map((n) => [n, Number(line[n])])) as unknown as Units;
}

/** One request through the whole chain; its status and units. `fresh`: from another isolate. */
async function get(path: string, key: string | undefined, opts: { fresh?: boolean; e?: Env } = {}) {
  if (opts.fresh) resetIsolateMemory();
  lines.length = 0;
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, key ? { headers: bearer(key) } : {}), opts.e ?? base, ctx);
  const body = await res.text();
  // Cache API copies and fills are written after the answer (waitUntil): the next request sees them.
  await waitOnExecutionContext(ctx);
  return { status: res.status, units: unitsOfLast(), body };
}

async function subscriber(): Promise<{ id: string; email: string }> {
  const created = subscriberMessage(`signed@${uniqueDomain()}`);
  await runBatch([created]);
  return { id: created.subscriber.id, email: created.subscriber.email };
}

const readKey = (admin: string) => newKey(admin, { name: "signed-reader", scopes: ["subscribers:read"] });

describe("signed API keys: verified without storage", () => {
  it("a warm read by id or by email: no KV write and one KV read (the subscriber's; the key costs none)", async ({ admin, reader }) => {
    const s = await subscriber();
    const signed = await readKey(admin);
    expect(signed.key).toMatch(/^sk_test_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{35}$/);
    for (const path of [`/v1/subscribers/${s.id}`, `/v1/subscribers/${encodeURIComponent(s.email)}`]) {
      expect((await get(path, signed.key, { fresh: true })).status).toBe(200);
      // Another isolate of this location: the subscriber from KV, the revocation list from the Cache API.
      const other = await get(path, signed.key, { fresh: true });
      expect(other.status).toBe(200);
      expect(other.units).toMatchObject({ kv_reads: 1, kv_writes: 0, kv_deletes: 0, db_round_trips: 0 });
      expect(other.units.cache_matches).toBeGreaterThanOrEqual(1);
      // The same isolate again: memory answers both.
      expect((await get(path, signed.key)).units).toMatchObject({ kv_reads: 0, kv_writes: 0, db_round_trips: 0 });
      // A key without a signature keeps today's lookup by hash: one KV read more.
      expect((await get(path, reader, { fresh: true })).status).toBe(200);
      const legacy = await get(path, reader, { fresh: true });
      expect(legacy.status).toBe(200);
      expect(legacy.units).toMatchObject({ kv_reads: 2, kv_writes: 0, db_round_trips: 0 });
    }
  });

  it("a cold isolate's concurrent first requests read the revocation list once", async ({ admin }) => {
    const s = await subscriber();
    const signed = await readKey(admin);
    await get(`/v1/subscribers/${s.id}`, signed.key, { fresh: true });
    resetIsolateMemory();
    lines.length = 0;
    // In a cold isolate of a location whose Cache API holds no list (none younger than the bound).
    await caches.default.delete(`http://edge.test/__edge-kv/${encodeURIComponent("apikey:v1:revoked")}`);
    const ctx = createExecutionContext();
    const all = await Promise.all(
      Array.from({ length: 8 }, () =>
        app.fetch(new Request(`http://edge.test/v1/subscribers/${s.id}`, { headers: bearer(signed.key) }), base, ctx),
      ),
    );
    await Promise.all(all.map((r) => r.text()));
    await waitOnExecutionContext(ctx);
    expect(all.map((r) => r.status)).toEqual(Array(8).fill(200));
    const reads = logRecords(lines)
      .filter((l) => l.event === "http_request")
      .reduce((sum, l) => sum + Number(l.cache_matches ?? 0), 0);
    // One Cache API lookup of the list (and, having none, one KV read), not one per request.
    expect(reads).toBe(1);
  });

  it("a forged or altered key is 401 with no KV read and no Postgres round trip, even in a fresh isolate", async ({ admin }) => {
    const signed = await readKey(admin);
    const forged = await mintSignedKey("not-the-secret-of-this-deployment-0123", "test", {
      keyId: signed.id,
      scopes: ["admin"],
      rateLimit: null,
    });
    const dot = signed.key.indexOf(".");
    const altered = `${signed.key.slice(0, dot + 1)}${signed.key[dot + 1] === "A" ? "B" : "A"}${signed.key.slice(dot + 2)}`;
    for (const key of [forged, altered, `${signed.key.slice(0, dot)}.`]) {
      const res = await get("/v1/stats", key, { fresh: true });
      expect(res.status, key).toBe(401);
      expect(res.units).toMatchObject({ kv_reads: 0, kv_writes: 0, kv_deletes: 0, db_round_trips: 0, cache_matches: 0 });
    }
  });

  it("revoked through the API: refused at once here and by another isolate; the list is one KV write", async ({ admin, db }) => {
    const signed = await readKey(admin);
    expect((await get("/v1/stats", signed.key)).status).toBe(200);
    resetIsolateMemory();
    lines.length = 0;
    const ctx = createExecutionContext();
    const init = { method: "DELETE", headers: bearer(admin) };
    const revoke = await app.fetch(new Request(`http://edge.test/v1/admin/api-keys/${signed.id}`, init), base, ctx);
    expect(revoke.status).toBe(200);
    await revoke.arrayBuffer();
    await waitOnExecutionContext(ctx);
    // The list, once; and the lookup by hash a key without a signature would have had.
    expect(unitsOfLast()).toMatchObject({ kv_writes: 1, kv_deletes: 1 });
    expect((await get("/v1/stats", signed.key)).status).toBe(401);
    const other = await get("/v1/stats", signed.key, { fresh: true });
    expect(other.status).toBe(401);
    expect(other.units.db_round_trips).toBe(0);
    const list = await env.CACHE.get<{ ids: string[] }>("apikey:v1:revoked", "json");
    expect(list?.ids).toContain(signed.id);
    const [row] = await db.db.select().from(apiKeys).where(eq(apiKeys.id, signed.id));
    expect(row?.revokedAt).toBeTruthy();
  });

  it("revoked only in SQL: works until the minute's settle rewrites the list, then is refused within API_KEY_HOT_SECONDS", async ({
    admin,
    db,
  }) => {
    const quick = { ...base, API_KEY_HOT_SECONDS: "1" } as Env;
    const signed = await readKey(admin);
    expect((await get("/v1/stats", signed.key, { e: quick })).status).toBe(200);
    await db.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, signed.id));
    // The documented bound, not a bug: nothing has told the edge yet.
    expect((await get("/v1/stats", signed.key, { e: quick })).status).toBe(200);
    const report = await settleRevocations(createRuntime(quick));
    expect(report).toMatchObject({ written: 1 });
    // Settled again with nothing new: no write.
    expect(await settleRevocations(createRuntime(quick))).toMatchObject({ written: 0 });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await get("/v1/stats", signed.key, { e: quick })).status).toBe(401);
  });
});

describe("a signed key older than the revocation list covers", () => {
  it("is looked up by its hash, so a revoked one dropped from the list stays refused", async ({ admin, db }) => {
    const signed = await readKey(admin);
    const listKey = "apikey:v1:revoked";
    try {
      // A list that covers only keys minted after this one (as once more than 1,000 keys were revoked).
      await env.CACHE.put(listKey, JSON.stringify({ ids: [], before: uuidv7() }));
      await caches.default.delete(`http://edge.test/__edge-kv/${encodeURIComponent(listKey)}`);
      // The lookup's copy fresh for 1 s only, so the revocation below is seen 1 s later.
      const quick = { ...base, API_KEY_CACHE_SECONDS: "1", API_KEY_HOT_SECONDS: "1" } as Env;
      const first = await get("/v1/stats", signed.key, { fresh: true, e: quick });
      expect(first.status).toBe(200);
      // The list, the lookup by hash, and (a first use) Postgres and the lookup's fill.
      expect(first.units).toMatchObject({ kv_reads: 2, kv_writes: 1 });
      await db.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, signed.id));
      // Not in the list, yet refused: the lookup by hash asks Postgres once its copy is not fresh.
      await new Promise((r) => setTimeout(r, 2_100));
      expect((await get("/v1/stats", signed.key, { fresh: true, e: quick })).status).toBe(401);
    } finally {
      await settleRevocations(createRuntime(base));
      await caches.default.delete(`http://edge.test/__edge-kv/${encodeURIComponent(listKey)}`);
    }
  });
});

describe("the Cache API in front of KV (CACHE_API_READS=on)", () => {
  it("a fresh isolate in a warm location reads neither KV nor Postgres; a copy is never served older than 5 s", async ({ admin }) => {
    const s = await subscriber();
    const signed = await readKey(admin);
    const path = `/v1/subscribers/${s.id}`;
    // Other tests here store the revocation list's copy with a 1 s lifetime (API_KEY_HOT_SECONDS=1).
    await caches.default.delete(`http://edge.test/__edge-kv/${encodeURIComponent("apikey:v1:revoked")}`);
    expect((await get(path, signed.key, { fresh: true, e: edgeOn })).status).toBe(200);
    const stored = Date.now();
    const warm = await get(path, signed.key, { fresh: true, e: edgeOn });
    expect(warm.status).toBe(200);
    expect(warm.units).toMatchObject({ kv_reads: 0, kv_writes: 0, db_round_trips: 0 });
    expect(warm.units.cache_matches).toBeGreaterThanOrEqual(2);
    // A change written through by the consumer: this location's copy may still answer, within the bound.
    await runBatch([updateMessage(s.id, { name: "Renamed" })]);
    const early = await get(path, signed.key, { fresh: true, e: edgeOn });
    const earlyName = (JSON.parse(early.body) as { data: Subscriber }).data.name;
    if (Date.now() - stored < 4_500) expect(earlyName).not.toBe("Renamed");
    await new Promise((r) => setTimeout(r, Math.max(0, stored + 5_100 - Date.now())));
    const late = await get(path, signed.key, { fresh: true, e: edgeOn });
    expect((JSON.parse(late.body) as { data: Subscriber }).data.name).toBe("Renamed");
    // The subscriber from KV; the revocation list (10 s) still from the Cache API.
    expect(late.units).toMatchObject({ kv_reads: 1, kv_writes: 0, db_round_trips: 0 });
  });

  it("a warm /search reads no KV beyond the index generation check", async () => {
    const id = String(Math.floor(Math.random() * 1e9));
    await setProviderDocuments([
      `<?xml version="1.0" encoding="UTF-8"?><planList version="1.0"><output><base_plan base_plan_id="${id}" sell_mode="online" title="S"><plan plan_start_date="2033-03-01T10:00:00" plan_end_date="2033-03-01T12:00:00" plan_id="1" sell_from="2032-01-01T00:00:00" sell_to="2032-12-31T00:00:00" sold_out="false"><zone zone_id="1" capacity="5" price="9.00" name="A" numbered="false" /></plan></base_plan></output></planList>`,
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), base, ctx);
    await waitOnExecutionContext(ctx);
    const path = "/search?starts_at=2033-03-01T00:00:00Z&ends_at=2033-03-02T00:00:00Z";
    expect((await get(path, undefined, { fresh: true, e: edgeOn })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const warm = await get(path, undefined, { e: edgeOn });
      expect(warm.status).toBe(200);
      expect(warm.units).toMatchObject({ kv_writes: 0, db_round_trips: 0 });
      expect(warm.units.kv_reads).toBeLessThanOrEqual(1);
    }
  });
});
