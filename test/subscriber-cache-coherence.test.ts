// Cache coherence after every kind of change, on both cache backends (Workers KV and Upstash Redis
// through a real redis-server). The bounds under test are docs/api.md's ("Cache bounds"):
// - in the isolate that applied a change, and at the cache level, the new state at once (the
//   consumer rewrites a fresh older copy, deletes a removed one; list pages move with the snapshot);
// - a reader that filled the cache with the old state while the change committed: undone by the
//   settle pass, CACHE_SETTLE_SECONDS (2 s here) after the commit;
// - another isolate's hot memory: TTL.subscriberHot (5 s).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../src/config/index.ts";
import { subscribers } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import type { Stats } from "../src/stats/schema.ts";
import { cacheKeys, TTL } from "../src/subscribers/model.ts";
import type { Subscriber } from "../src/subscribers/schema.ts";
import type { Envelope, ListBody, SubscriberBody } from "./helpers.ts";
import { bearer, createTestKey, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { deleteMessage, forgetMessage, runBatch, subscriberMessage, updateMessage } from "./queue-helpers.ts";

const db = testDb();
let key: string;
beforeAll(async () => {
  key = await createTestKey(db, ["subscribers:read", "subscribers:write", "admin"], "coherence");
});
afterAll(() => db.close());

const upstashAvailable = Boolean(env.TEST_UPSTASH_URL);
const redis = new Redis({ url: env.TEST_UPSTASH_URL || "http://unused.invalid", token: env.TEST_UPSTASH_TOKEN || "x" });
const backends = [
  {
    name: "Workers KV",
    env: env as Env,
    available: true,
    /** Writes a cache entry behind the Worker's back, as another invocation would. */
    put: (k: string, v: unknown) => env.CACHE.put(k, JSON.stringify(v), { expirationTtl: 3600 }),
  },
  {
    name: "Upstash Redis",
    env: { ...env, UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_URL, UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_TOKEN } as Env,
    available: upstashAvailable,
    put: async (k: string, v: unknown) => void (await redis.set(k, v, { ex: 3600 })),
  },
];

const app = createApp();

for (const backend of backends) {
  describe.skipIf(!backend.available)(`cache coherence on ${backend.name}`, () => {
    const read = async <T>(path: string) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`http://edge.test${path}`, { headers: bearer(key) }), backend.env, ctx);
      await waitOnExecutionContext(ctx);
      if (res.status === 200) return { status: res.status, body: await res.json<T>() };
      await res.body?.cancel();
      return { status: res.status, body: undefined };
    };
    const views = async (s: { id: string; email: string }) => {
      const [byId, byEmail, list] = await Promise.all([
        read<SubscriberBody>(`/v1/subscribers/${s.id}`),
        read<SubscriberBody>(`/v1/subscribers/${encodeURIComponent(s.email)}`),
        read<ListBody<Subscriber>>(`/v1/subscribers?email=${encodeURIComponent(s.email)}`),
      ]);
      return { byId: byId.body?.data, byEmail: byEmail.body?.data, listed: list.body?.data ?? [], status: [byId.status, byEmail.status] };
    };
    const stats = async () => (await read<Envelope<Stats>>("/v1/stats")).body!.data;
    /** The consumer, on this backend, as the runtime would call it. */
    const apply = (bodies: unknown[]) => runBatch(bodies, { env: backend.env });

    it("after a create, an update, an unsubscribe and a delete, every read shows the change at once", async () => {
      const create = subscriberMessage(`coh@${uniqueDomain()}`);
      const s = { id: create.subscriber.id, email: create.subscriber.email };
      // Absent first: no absence is cached, so the create is readable as soon as it commits.
      expect((await views(s)).status).toEqual([404, 404]);
      await apply([create]);
      let v = await views(s);
      expect([v.byId?.version, v.byEmail?.version, v.listed.map((x) => x.id)]).toEqual([1, 1, [s.id]]);

      const before = await stats();
      await apply([updateMessage(s.id, { name: "Renamed" })]);
      v = await views(s);
      expect([v.byId?.name, v.byEmail?.name, v.listed[0]?.name, v.byId?.version]).toEqual(["Renamed", "Renamed", "Renamed", 2]);

      await apply([updateMessage(s.id, { status: "unsubscribed" })]);
      v = await views(s);
      expect([v.byId?.status, v.byEmail?.status, v.listed[0]?.status]).toEqual(["unsubscribed", "unsubscribed", "unsubscribed"]);
      // The counts were dropped by the change and recomputed after it.
      const after = await stats();
      expect(Date.parse(after.generated_at)).toBeGreaterThan(Date.parse(before.generated_at));

      await apply([deleteMessage(s.id)]);
      v = await views(s);
      expect(v.status).toEqual([404, 404]);
      expect(v.listed).toEqual([]);
      expect(Date.parse((await stats()).generated_at)).toBeGreaterThan(Date.parse(after.generated_at));
    });

    it("an erasure removes the subscriber from every read at once", async () => {
      const create = subscriberMessage(`coh.erase@${uniqueDomain()}`);
      const s = { id: create.subscriber.id, email: create.subscriber.email };
      await apply([create]);
      expect((await views(s)).status).toEqual([200, 200]);
      await apply([forgetMessage({ id: s.id })]);
      const v = await views(s);
      expect(v.status).toEqual([404, 404]);
      expect(v.listed).toEqual([]);
    });

    it("a reader's stale fill, racing the commit, is undone by the settle pass within CACHE_SETTLE_SECONDS", async () => {
      const create = subscriberMessage(`coh.race@${uniqueDomain()}`);
      const s = { id: create.subscriber.id, email: create.subscriber.email };
      await apply([create]);
      const old = (await views(s)).byId!;
      await apply([updateMessage(s.id, { name: "Newer" })]);
      // The racing reader: it read version 1 before the commit and writes it after the check that followed it.
      await backend.put(cacheKeys.byId(s.id), { v: old });
      await backend.put(await cacheKeys.byEmail(s.email), { v: old });
      const settle = { type: "subscriber.settle", v: 1, subscribers: [{ id: s.id, email_key: await cacheKeys.byEmail(s.email) }] };
      const started = Date.now();
      if (backend.name === "Workers KV") {
        // The consumer sent the settle message to the real queue, delayed: wait for it to run.
        await waitFor(async () => {
          const v = await views(s);
          return v.byId?.name === "Newer" && v.byEmail?.name === "Newer";
        }, 10_000);
        expect(Date.now() - started).toBeLessThan((getConfig(env).cacheSettleSeconds + TTL.subscriberHot + 2) * 1000);
      } else {
        // The real queue's consumer runs on KV; deliver the same settle message to one on Upstash.
        await apply([settle]);
        const v = await views(s);
        expect([v.byId?.name, v.byEmail?.name]).toEqual(["Newer", "Newer"]);
      }
    });

    it("another isolate's hot copy serves the old state for at most TTL.subscriberHot seconds", async () => {
      const create = subscriberMessage(`coh.hot@${uniqueDomain()}`);
      const s = { id: create.subscriber.id, email: create.subscriber.email };
      await apply([create]);
      const old = (await views(s)).byId!; // now hot in this isolate
      // Another isolate's consumer committed a change and wrote it to the shared cache; this isolate
      // was not told.
      await db.db.update(subscribers).set({ name: "Elsewhere", version: 2 }).where(eq(subscribers.id, s.id));
      await backend.put(cacheKeys.byId(s.id), { v: { ...old, name: "Elsewhere", version: 2 } });
      const started = Date.now();
      expect((await views(s)).byId?.name).toBe(create.subscriber.name);
      await waitFor(async () => (await views(s)).byId?.name === "Elsewhere", (TTL.subscriberHot + 2) * 1000);
      expect(Date.now() - started).toBeLessThanOrEqual((TTL.subscriberHot + 1) * 1000);
    });
  });
}
