// The edge keeps serving while Postgres is unreachable for longer than every freshness bound of its
// copies (API key lookups, subscribers, isolate memory): keys authenticate, cached subscribers answer,
// writes are accepted, and each accepted write is stored once Postgres is back.
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { apiKeyCacheKey } from "../src/auth/api-keys.ts";
import { subscribers } from "../src/db/schema.ts";
import { sha256Hex } from "../src/lib/crypto.ts";
import { cacheKeys, TTL } from "../src/subscribers/model.ts";
import { it } from "./harness.ts";
import type { OperationBody, SubscriberBody } from "./helpers.ts";
import { appWith, bearer, control, uniqueDomain, waitFor } from "./helpers.ts";
import { storedIn, waitForOperations } from "./subscriber-helpers.ts";

/** Every bound short: fresh for 1 s, in isolate memory for 1 s (subscribers: TTL.subscriberHot). */
const SHORT = { API_KEY_CACHE_SECONDS: "1", API_KEY_HOT_SECONDS: "1", SUBSCRIBER_CACHE_SECONDS: "1" };
const OUTAGE_MS = (Math.max(1 + 1, 1 + TTL.subscriberHot) + 2) * 1000;

const json = (body: unknown, key: string) => ({
  method: "POST",
  headers: { ...bearer(key), "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

describe("an outage of Postgres longer than every edge freshness bound", () => {
  it("keys authenticate from their edge copy, cached subscribers answer, writes are accepted and stored afterwards", {
    timeout: 60_000,
  }, async ({ db, writer }) => {
    const app = appWith(SHORT);
    const domain = uniqueDomain();
    const email = `cached@${domain}`;
    const id = crypto.randomUUID();
    await db.db.insert(subscribers).values({ id, email, name: "Ada", lastName: "Lovelace", status: "active" });
    // Warm the copies: the key, the subscriber by id and by email.
    expect((await app(`/v1/subscribers/${id}`, { headers: bearer(writer) })).status).toBe(200);
    expect((await app("/v1/subscribers/lookup", json({ email }, writer))).status).toBe(200);
    const copies = [apiKeyCacheKey(await sha256Hex(writer)), cacheKeys.byId(id), await cacheKeys.byEmail(email)];
    await waitFor(async () => (await Promise.all(copies.map((k) => env.CACHE.get(k)))).every(Boolean), 5_000, "the edge copies");

    const accepted: string[] = [];
    const started = Date.now();
    await control("/relay/down");
    try {
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      // Twice: the first stale use asks Postgres and falls back, the second answers from memory or KV again.
      for (let round = 0; round < 2; round++) {
        const byId = await app(`/v1/subscribers/${id}`, { headers: bearer(writer) });
        expect(byId.status).toBe(200);
        expect((await byId.json<SubscriberBody>()).data).toMatchObject({ id, email });
        const byEmail = await app("/v1/subscribers/lookup", json({ email }, writer));
        expect(byEmail.status).toBe(200);
        const create = await app("/v1/subscribers", json({ email: `new${round}@${domain}`, name: "New", last_name: "One" }, writer));
        expect(create.status).toBe(202);
        accepted.push((await create.json<OperationBody>()).data.id);
        const patch = await app(`/v1/subscribers/${id}`, {
          method: "PATCH",
          headers: { ...bearer(writer), "Content-Type": "application/json" },
          body: JSON.stringify({ name: `Ada ${round}` }),
        });
        expect(patch.status).toBe(202);
        accepted.push((await patch.json<OperationBody>()).data.id);
        await new Promise((r) => setTimeout(r, 2_100));
      }
      expect(Date.now() - started).toBeGreaterThan(OUTAGE_MS);
    } finally {
      await control("/relay/up");
    }
    await waitForOperations(db, accepted);
    expect((await storedIn(db, domain)).map((s) => s.email)).toEqual([`cached@${domain}`, `new0@${domain}`, `new1@${domain}`]);
  });

  it("a key with no edge copy still needs Postgres: 503 with Retry-After, never a 500", async () => {
    const app = appWith(SHORT);
    const res = await (async () => {
      await control("/relay/down");
      try {
        return await app("/v1/stats", { headers: bearer(`sk_test_${crypto.randomUUID().replaceAll("-", "")}`) });
      } finally {
        await control("/relay/up");
      }
    })();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
  });
});
