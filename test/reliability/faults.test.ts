// Faults, each with its outcome checked: Postgres down while POSTs keep arriving, the cache down,
// the queue refusing messages. (Provider faults and /search belong to the plans suite.)
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.ts";
import { createApp } from "../../src/http/app.ts";
import { cacheKeys } from "../../src/subscribers/model.ts";
import type { OperationBody, SubscriberBody } from "../helpers.ts";
import { bearer, call, control, createTestKey, databaseDown, postJson, testDb, uniqueDomain, waitFor } from "../helpers.ts";
import { operationsOf, storedIn, waitForOperations } from "../queue-helpers.ts";
import { checkAgainstModel, explain, random, Traffic } from "./lifecycle-traffic.ts";
import { isProblem, pool, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const db = testDb();
let writer: string;
let reader: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "reliability-faults-writer");
  reader = await createTestKey(db, ["subscribers:read"], "reliability-faults-reader");
});
afterAll(() => db.close());

describe("reliability: Postgres stopped while POSTs keep arriving", () => {
  it("POSTs stay 202, the consumer retries, and after Postgres returns every subscriber is stored exactly once", {
    timeout: 120_000,
  }, async () => {
    const count = long ? 300 : 60;
    const domain = uniqueDomain();
    const emails = Array.from({ length: count }, (_, i) => `down${i}@${domain}`);
    // Authenticate once while Postgres is up: API keys are then served from the edge cache.
    expect((await call("/v1/stats", { headers: bearer(writer) })).status).toBe(200);

    const statuses: Record<number, number> = {};
    const accepted: string[] = [];
    let storedWhileDown = -1;
    await control("/relay/down");
    try {
      await pool(emails, 8, async (email) => {
        const res = await postJson("/v1/subscribers", { email, name: "Down", last_name: "Time" }, bearer(writer));
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 202) accepted.push((await res.json<OperationBody>()).data.id);
        else await res.body?.cancel();
      });
      // Give the consumer time to take batches and fail them while the database is away.
      await new Promise((r) => setTimeout(r, 2_500));
    } finally {
      await control("/relay/up");
      storedWhileDown = (await storedIn(db, domain)).length;
    }
    expect(statuses).toEqual({ 202: count });
    // Counted right after the relay came back (the test's own connection needs it too); a retry can
    // already have landed by then, so this is reported, not asserted.

    const outcomes = await waitForOperations(db, accepted, 90_000);
    const stored = await storedIn(db, domain);
    expect(stored.map((s) => s.email).sort()).toEqual([...emails].sort());
    expect(outcomes.every((o) => o.status === "succeeded")).toBe(true);
    expect(new Set(outcomes.map((o) => o.subscriberId))).toEqual(new Set(stored.map((s) => s.id)));
    report("postgres down during POSTs", {
      posts: count,
      statuses,
      stored_when_back_up: storedWhileDown,
      operations_succeeded: outcomes.length,
      rows_stored: stored.length,
    });
  });
});

describe("reliability: Postgres stopped during mixed creates, PATCHes and DELETEs", () => {
  it("changes to cached subscribers stay 202, and after Postgres returns the final state is the model's", {
    timeout: 120_000,
  }, async () => {
    const domain = uniqueDomain();
    const n = long ? 60 : 20;
    const traffic = new Traffic(writer);
    await pool(
      Array.from({ length: n }, (_, i) => `mixed${i}@${domain}`),
      8,
      (email, i) => traffic.create(email, { name: `Mixed${i}`, last_name: "Pool", status: "active" }),
    );
    await waitForOperations(
      db,
      traffic.accepted.map((c) => c.op),
      30_000,
    );
    const members = traffic.accepted.map((c) => ({ id: c.id, email: (c as { email: string }).email }));
    // Cached by reads, as clients read them (the consumer writes no copy): by id and by email.
    await pool(members, 8, async (m) => {
      for (const ref of [m.id, encodeURIComponent(m.email)]) {
        const res = await call(`/v1/subscribers/${ref}`, { headers: bearer(reader) });
        expect(res.status).toBe(200);
        await res.body?.cancel();
      }
    });
    const keys = (await Promise.all(members.map(async (m) => [cacheKeys.byId(m.id), await cacheKeys.byEmail(m.email)]))).flat();
    await waitFor(async () => (await Promise.all(keys.map((k) => env.CACHE.get(k)))).every((v) => v !== null), 10_000, "the reads' fills");
    // While Postgres is away, the edge resolves each change's subscriber from its cache.
    const rng = random(n);
    const jobs = Array.from({ length: n * 3 }, (_, i) => {
      const m = members[i % n]!;
      if (i < n) return () => traffic.create(`fresh${i}@${domain}`, { name: `Fresh${i}`, last_name: "Down", status: "unsubscribed" });
      if (i % 7 === 0) return () => traffic.delete(rng.chance(0.5) ? m.id : m.email);
      return () =>
        traffic.patch(rng.chance(0.5) ? m.id : m.email, {
          name: `Down${i}`,
          ...(rng.chance(0.5) ? { status: rng.pick(["active", "unsubscribed"] as const) } : {}),
        });
    });
    await databaseDown(async () => {
      await pool(rng.shuffle(jobs), 8, (job) => job());
      for (let i = 0; i < 5; i++) await traffic.redeliver(rng);
      await new Promise((r) => setTimeout(r, 2_500));
    });
    expect(Object.keys(traffic.statuses).sort()).toEqual(["DELETE 202", "PATCH 202", "POST 202"]);
    expect(traffic.unavailableRetried).toEqual({});

    const { differing, history, outcomes, counts } = await checkAgainstModel(db, domain, traffic.accepted, 90_000);
    report("postgres down during mixed changes", { statuses: traffic.statuses, direct_to_queue: traffic.direct, ...counts });
    expect(differing.length, explain(differing, traffic.accepted, outcomes)).toBe(0);
    expect(history.slice(0, 10)).toEqual([]);
    expect(outcomes.filter((o) => o.status === "failed" && o.errorCode !== "not_found")).toEqual([]);
  });
});

describe("reliability: the cache unavailable", () => {
  it("reads are served from Postgres and writes still accepted; never a 5xx", async () => {
    const domain = uniqueDomain();
    const n = long ? 100 : 20;
    const rows = Array.from({ length: n }, (_, i) => ({
      id: crypto.randomUUID(),
      email: `cache${i}@${domain}`,
      name: "Cache",
      lastName: "Down",
      status: "active" as const,
    }));
    await db.db.insert(subscribers).values(rows);
    const fail = () => Promise.reject(new Error("KV unavailable"));
    const brokenKv = { get: fail, put: fail, delete: fail, list: fail, getWithMetadata: fail } as unknown as KVNamespace;
    const app = createApp();
    const brokenEnv = { ...env, CACHE: brokenKv };
    const fetchBroken = (path: string, init?: RequestInit) =>
      app.fetch(new Request(`http://edge.test${path}`, init), brokenEnv, createExecutionContext());

    const statuses: Record<number, number> = {};
    const count = (s: number) => (statuses[s] = (statuses[s] ?? 0) + 1);
    for (const r of rows) {
      for (const path of [`/v1/subscribers/${r.id}`, `/v1/subscribers/${encodeURIComponent(r.email.toUpperCase())}`]) {
        const res = await fetchBroken(path, { headers: bearer(reader) });
        count(res.status);
        expect(res.status, path).toBe(200);
        expect((await res.json<SubscriberBody>()).data.id).toBe(r.id);
      }
    }
    for (const path of ["/v1/subscribers?limit=5", "/v1/stats", `/v1/subscribers/${crypto.randomUUID()}`]) {
      const res = await fetchBroken(path, { headers: bearer(reader) });
      count(res.status);
      expect(res.status, path).toBeLessThan(500);
      await res.body?.cancel();
    }
    const post = await fetchBroken("/v1/subscribers", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...bearer(writer) },
      body: JSON.stringify({ email: `cachepost@${domain}`, name: "A", last_name: "B" }),
    });
    count(post.status);
    expect(post.status).toBe(202);
    expect(Object.keys(statuses).filter((s) => Number(s) >= 500)).toEqual([]);
    report("cache unavailable", {
      requests: Object.values(statuses).reduce((a, b) => a + b, 0),
      statuses,
      subscribers_read_from_postgres: n,
    });
  });
});

describe("reliability: the queue refusing messages", () => {
  it("answers 503 problems with Retry-After, claims nothing accepted, and stores nothing", async () => {
    const domain = uniqueDomain();
    const n = long ? 100 : 20;
    const failing = () => Promise.reject(new Error("queue unavailable"));
    const app = createApp();
    const brokenEnv = { ...env, SUBSCRIBER_QUEUE: { send: failing, sendBatch: failing } as unknown as Queue };
    const idemKey = crypto.randomUUID();
    const post = (email: string, broken: boolean, headers: Record<string, string> = {}) =>
      app.fetch(
        new Request("http://edge.test/v1/subscribers", {
          method: "POST",
          headers: { "Content-Type": "application/json", ...bearer(writer), ...headers },
          body: JSON.stringify({ email, name: "Q", last_name: "Down" }),
        }),
        broken ? brokenEnv : env,
        createExecutionContext(),
      );

    let problems = 0;
    for (let i = 0; i < n; i++) {
      const res = await post(`q${i}@${domain}`, true, i === 0 ? { "Idempotency-Key": idemKey } : {});
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(isProblem(await res.json(), 503)).toBe(true);
      problems++;
    }
    // The refused Idempotency-Key was not remembered: the same key later is a fresh acceptance.
    const retry = await post(`q0@${domain}`, false, { "Idempotency-Key": idemKey });
    expect(retry.status).toBe(202);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    const op = (await retry.json<OperationBody>()).data.id;
    await waitFor(async () => (await operationsOf(db, [op]))[0], 30_000, "the retried write");
    const stored = await storedIn(db, domain);
    expect(stored.map((s) => s.email)).toEqual([`q0@${domain}`]);
    report("queue send failing", { posts_refused: n, problems_503_checked: problems, rows_stored_from_refused: stored.length - 1 });
  });
});
