import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { createApp } from "../src/http/app.ts";
import worker from "../src/index.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import type { SubscriberSettleMessage } from "../src/subscribers/messages.ts";
import { cacheKeys } from "../src/subscribers/model.ts";
import { bearer, captureLogLines, createTestKey, logRecords, setProviderDocuments, testDb, uniqueDomain } from "./helpers.ts";
import { it } from "./plan-helpers.ts";
import { deleteMessage, forgetMessage, runBatch, subscriberMessage, updateMessage, waitForOperations } from "./queue-helpers.ts";

// KV operations per operation, read from the one log line each request, queue batch and cron task
// writes (src/lib/meter.ts). Each request starts from a cold isolate (resetIsolateMemory), so what
// isolate memory saves in production is not counted as saved here; the API key is already in KV.
// The "KV economy" table of docs/operations.md is these numbers: a change that adds a write fails here.

const verbose = { ...env, LOG_LEVEL: "info" } as Env;
const app = createApp();
const lines = captureLogLines();
let db: DbHandle;
let key: string;

type Kv = { reads: number; writes: number; lists: number };

/** The KV counts on the last line of this event written while `fn` ran. */
async function kvOf(event: string, fn: () => Promise<unknown>, task?: string): Promise<Kv> {
  lines.length = 0;
  await fn();
  const line = logRecords(lines)
    .filter((l) => l.event === event && (task === undefined || l.task === task))
    .at(-1);
  if (!line) throw new Error(`no ${event} line`);
  // Deletes are billed as writes (src/lib/meter.ts counts them apart as kv_deletes).
  return { reads: Number(line.kv_reads), writes: Number(line.kv_writes) + Number(line.kv_deletes), lists: Number(line.kv_lists) };
}

/** One request from a cold isolate, through the whole middleware chain. */
function request(path: string, init: RequestInit = {}, on: Env = verbose): () => Promise<Response> {
  return async () => {
    resetIsolateMemory();
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`http://edge.test${path}`, init), on, ctx);
    await res.arrayBuffer();
    // Fills and Cache API copies are written after the answer (waitUntil): the next request sees them.
    await waitOnExecutionContext(ctx);
    return res;
  };
}

const authed = (extra: Record<string, string> = {}) => ({ headers: { ...bearer(key), ...extra } });
const json = (method: string, body: unknown, extra: Record<string, string> = {}) => ({
  method,
  headers: { ...bearer(key), "Content-Type": "application/json", ...extra },
  body: JSON.stringify(body),
});

async function cron(): Promise<void> {
  resetIsolateMemory();
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), verbose, ctx);
  await waitOnExecutionContext(ctx);
}

beforeAll(async () => {
  db = testDb();
  key = await createTestKey(db, ["admin"], "kv-economy");
  // The key's first use fills its KV entry; every measured request below finds it there.
  await request("/v1/stats", authed())();
});
afterAll(() => db.close());

describe("KV reads and writes per operation", () => {
  it("subscriber reads: a hit writes nothing, a miss of a stored one writes its one entry, an absent one writes none", async () => {
    const created = subscriberMessage(`read@${uniqueDomain()}`);
    await runBatch([created]);
    const path = `/v1/subscribers/${created.subscriber.id}`;
    // The consumer wrote nothing: the first read fills the entry, the next is a hit.
    expect(await kvOf("http_request", request(path, authed()))).toEqual({ reads: 2, writes: 1, lists: 0 });
    expect(await kvOf("http_request", request(path, authed()))).toEqual({ reads: 2, writes: 0, lists: 0 });
    // Gone from the cache (its TTL ran out): the first read fills it again.
    await env.CACHE.delete(cacheKeys.byId(created.subscriber.id));
    expect(await kvOf("http_request", request(path, authed()))).toEqual({ reads: 2, writes: 1, lists: 0 });
    expect(await kvOf("http_request", request(path, authed()))).toEqual({ reads: 2, writes: 0, lists: 0 });
    // No absence is cached (it would hide a create): each lookup of an absent id asks Postgres.
    const absent = `/v1/subscribers/${crypto.randomUUID()}`;
    expect(await kvOf("http_request", request(absent, authed()))).toEqual({ reads: 2, writes: 0, lists: 0 });
    expect(await kvOf("http_request", request(absent, authed()))).toEqual({ reads: 2, writes: 0, lists: 0 });
    expect(await kvOf("http_request", request("/v1/stats", authed()))).toEqual({ reads: 1, writes: 0, lists: 0 });
  });

  it("list pages: no KV at all (the Cache API, keyed by the database snapshot)", async () => {
    expect(await kvOf("http_request", request(`/v1/subscribers?limit=3`, authed()))).toEqual({ reads: 1, writes: 0, lists: 0 });
  });

  it("writes at the edge: no KV write for an accepted write, with or without an Idempotency-Key", async () => {
    const domain = uniqueDomain();
    // The API key and the address's entry (the edge's 409) are read; nothing is written.
    expect(
      await kvOf("http_request", request("/v1/subscribers", json("POST", { email: `p@${domain}`, name: "A", last_name: "B" }))),
    ).toEqual({ reads: 2, writes: 0, lists: 0 });
    // With a key, the same: it is the operation id, compared in Postgres.
    const idem = json("POST", { email: `i@${domain}`, name: "A", last_name: "B" }, { "Idempotency-Key": crypto.randomUUID() });
    expect(await kvOf("http_request", request("/v1/subscribers", idem))).toEqual({ reads: 2, writes: 0, lists: 0 });
    // For the 24 h after an upgrade from before keyed ids (LEGACY_IDEMPOTENCY_UNTIL), one read more:
    // a record the older version may have left in KV.
    const upgrading = { ...verbose, LEGACY_IDEMPOTENCY_UNTIL: new Date(Date.now() + 86_400_000).toISOString() } as Env;
    const again = json("POST", { email: `j@${domain}`, name: "A", last_name: "B" }, { "Idempotency-Key": crypto.randomUUID() });
    expect(await kvOf("http_request", request("/v1/subscribers", again, upgrading))).toEqual({ reads: 3, writes: 0, lists: 0 });

    // Each change reads the subscriber it is about (cached by id, as by a client that read it first).
    const targets = [subscriberMessage(`t1@${domain}`), subscriberMessage(`t2@${domain}`), subscriberMessage(`t3@${domain}`)];
    await runBatch(targets);
    const [patch, del, forget] = targets.map((t) => `/v1/subscribers/${t.subscriber.id}`) as [string, string, string];
    for (const path of [patch, del, forget]) await request(path, authed())();
    expect(await kvOf("http_request", request(patch, json("PATCH", { name: "C" })))).toEqual({ reads: 2, writes: 0, lists: 0 });
    expect(await kvOf("http_request", request(del, { method: "DELETE", ...authed() }))).toEqual({ reads: 2, writes: 0, lists: 0 });
    expect(await kvOf("http_request", request(`${forget}/forget`, { method: "POST", ...authed() }))).toEqual({
      reads: 2,
      writes: 0,
      lists: 0,
    });
  });

  it("polling an operation: the API key is the only KV read, pending or finished; nothing is written", async () => {
    const res = await request("/v1/subscribers", json("POST", { email: `op@${uniqueDomain()}`, name: "A", last_name: "B" }))();
    const location = res.headers.get("location")!;
    const id = location.split("/").at(-1)!;
    // Pending: the signed id and Postgres say so; the finished one is kept in the Cache API.
    expect(await kvOf("http_request", request(location, authed()))).toEqual({ reads: 1, writes: 0, lists: 0 });
    await waitForOperations(db, [id]);
    expect(await kvOf("http_request", request(location, authed()))).toEqual({ reads: 1, writes: 0, lists: 0 });
    expect(await kvOf("http_request", request(location, authed()))).toEqual({ reads: 1, writes: 0, lists: 0 });
  });

  it("consumer: creates touch no key; a change reads its two keys and writes only the one holding a fresh older copy", async () => {
    const domain = uniqueDomain();
    const n = 10;
    const creates = Array.from({ length: n }, (_, i) => subscriberMessage(`b${i}@${domain}`));
    expect(await kvOf("queue_batch", () => runBatch(creates, { env: verbose }))).toEqual({ reads: 0, writes: 0, lists: 0 });
    // Half of them read by id, as a client does before a change: those copies are fresh.
    const read = creates.slice(0, n / 2);
    for (const m of read) await request(`/v1/subscribers/${m.subscriber.id}`, authed())();

    // The inline check reads both keys of each changed subscriber and rewrites the fresh older copies.
    const updates = creates.map((m) => updateMessage(m.subscriber.id, { name: "Changed" }));
    expect(await kvOf("queue_batch", () => runBatch(updates, { env: verbose }))).toEqual({ reads: 2 * n, writes: n / 2, lists: 0 });
    for (const m of read)
      expect((await env.CACHE.get<{ v: { version: number } }>(cacheKeys.byId(m.subscriber.id), "json"))?.v.version).toBe(2);

    // The delayed settle pass finds nothing left to correct: reads only.
    const settle: SubscriberSettleMessage = {
      type: "subscriber.settle",
      v: 1,
      subscribers: await Promise.all(
        creates.map(async (m) => ({ id: m.subscriber.id, email_key: await cacheKeys.byEmail(m.subscriber.email) })),
      ),
    };
    expect(await kvOf("queue_batch", () => runBatch([settle], { env: verbose }))).toEqual({ reads: 2 * n, writes: 0, lists: 0 });

    // Deletes: the copies that exist go (one each here), nothing else is written.
    const deletes = creates.map((m) => deleteMessage(m.subscriber.id));
    expect(await kvOf("queue_batch", () => runBatch(deletes, { env: verbose }))).toEqual({ reads: 2 * n, writes: n / 2, lists: 0 });
    for (const m of read) expect(await env.CACHE.get(cacheKeys.byId(m.subscriber.id))).toBeNull();
    // A redelivered batch changes nothing and touches nothing.
    expect(await kvOf("queue_batch", () => runBatch(deletes, { env: verbose }))).toEqual({ reads: 0, writes: 0, lists: 0 });
    // An erasure of a subscriber deleted earlier: its entries by id and by email and its three
    // operations' entries go, and the parked dead letters are listed.
    const erased = await kvOf("queue_batch", () => runBatch([forgetMessage({ email: creates[0]!.subscriber.email })], { env: verbose }));
    expect(erased).toEqual({ reads: 0, writes: 5, lists: 1 });
  });

  it("consumer: at most 0.05 KV writes (puts + deletes) per row in a batch of 100", async () => {
    // The mix: 95 creates and 5 updates, each update of a subscriber a client read by id first (its
    // copy fresh in KV, as the edge's own PATCH leaves it), so each update rewrites that one key. A
    // change costs a write only where somebody read the subscriber within the hour: with more such
    // changes than 5 in 100, the batch costs more than 0.05 (docs/operations.md "KV economy").
    const domain = uniqueDomain();
    const earlier = Array.from({ length: 5 }, (_, i) => subscriberMessage(`e${i}@${domain}`));
    await runBatch(earlier);
    for (const m of earlier) await request(`/v1/subscribers/${m.subscriber.id}`, authed())();
    const batch = [
      ...Array.from({ length: 95 }, (_, i) => subscriberMessage(`m${i}@${domain}`)),
      ...earlier.map((m) => updateMessage(m.subscriber.id, { name: "Mixed" })),
    ];
    const units = await kvOf("queue_batch", () => runBatch(batch, { env: verbose }));
    expect(units.writes / batch.length).toBeLessThanOrEqual(0.05);
    // Exactly the five fresh copies, read with their email keys: 2 reads per changed subscriber.
    expect(units).toEqual({ reads: 10, writes: 5, lists: 0 });
    // And each of those reads answers the new state from KV at once (a warm read after a write).
    for (const m of earlier) {
      const res = await request(`/v1/subscribers/${m.subscriber.id}`, authed())();
      expect(res.headers.get("server-timing")).toContain('cache;desc="hit"');
      expect(await env.CACHE.get<{ v: { name: string } }>(cacheKeys.byId(m.subscriber.id), "json")).toMatchObject({ v: { name: "Mixed" } });
    }
    // 80 creates and 20 updates of subscribers nobody has read: the check reads, and writes nothing.
    const unread = Array.from({ length: 20 }, (_, i) => subscriberMessage(`u${i}@${domain}`));
    await runBatch(unread);
    const second = [
      ...Array.from({ length: 80 }, (_, i) => subscriberMessage(`n${i}@${domain}`)),
      ...unread.map((m) => updateMessage(m.subscriber.id, { name: "Unread" })),
    ];
    expect(await kvOf("queue_batch", () => runBatch(second, { env: verbose }))).toEqual({ reads: 40, writes: 0, lists: 0 });
  });

  it("erasure: one of an address nobody has costs one write; one of a stored subscriber deletes what it cached", async () => {
    const nobody = await kvOf("queue_batch", () => runBatch([forgetMessage({ email: `nobody@${uniqueDomain()}` })], { env: verbose }));
    expect(nobody).toEqual({ reads: 0, writes: 1, lists: 1 });
    const byId = await kvOf("queue_batch", () => runBatch([forgetMessage({ id: crypto.randomUUID() })], { env: verbose }));
    expect(byId).toEqual({ reads: 0, writes: 1, lists: 1 });

    // A stored subscriber, created with an Idempotency-Key: its entries by id and email (its
    // operations' ids are signed, so none was ever in KV, and no idempotency record exists to read);
    // the check after the commit skips what the purge just deleted.
    const body = { email: `kept@${uniqueDomain()}`, name: "K", last_name: "E" };
    const ctx = createExecutionContext();
    const init = json("POST", body, { "Idempotency-Key": crypto.randomUUID(), Prefer: "wait=10" });
    const created = await app.fetch(new Request("http://edge.test/v1/subscribers", init), verbose, ctx);
    await waitOnExecutionContext(ctx);
    const { data } = await created.json<{ data: { id: string } }>();
    const stored = await kvOf("queue_batch", () => runBatch([forgetMessage({ id: data.id })], { env: verbose }));
    expect(stored).toEqual({ reads: 0, writes: 2, lists: 1 });
  });

  it("plans: a sync that changed nothing writes nothing; /search and /v1/plans read", async () => {
    const id = String(Math.floor(Math.random() * 1e9));
    const doc = (price: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><planList version="1.0"><output><base_plan base_plan_id="${id}" sell_mode="online" title="KV"><plan plan_start_date="2032-01-01T10:00:00" plan_end_date="2032-01-01T12:00:00" plan_id="1" sell_from="2031-01-01T00:00:00" sell_to="2031-12-31T00:00:00" sold_out="false"><zone zone_id="1" capacity="5" price="${price}" name="A" numbered="false" /></plan></base_plan></output></planList>`;
    await setProviderDocuments([doc("10.00")]);
    await cron(); // the breaker's first save and this document's index
    await setProviderDocuments([doc("11.00")]);
    // A changed document: the breaker, the published generation and the manifest read; the one
    // part this document's month changed, the new manifest and its generation marker written.
    expect(await kvOf("cron_run", cron, "plan_sync")).toEqual({ reads: 3, writes: 3, lists: 0 });
    expect(await kvOf("cron_run", cron, "plan_sync")).toEqual({ reads: 2, writes: 0, lists: 0 });
    // The redrive looks for dead letters parked in KV once a minute: one list.
    expect(await kvOf("cron_run", cron, "dead_letter_redrive")).toEqual({ reads: 0, writes: 0, lists: 1 });

    const range = "starts_at=2032-01-01T00:00:00Z&ends_at=2032-01-02T00:00:00Z";
    // A fresh isolate: the generation marker, the manifest and the one part the range overlaps.
    expect(await kvOf("http_request", request(`/search?${range}`))).toEqual({ reads: 3, writes: 0, lists: 0 });
    // The index generation (pages are keyed by it), then the page.
    expect(await kvOf("http_request", request(`/v1/plans?${range}`))).toEqual({ reads: 2, writes: 1, lists: 0 });
    // A repeat: the marker, then the Cache API's copy for this generation and URL.
    expect(await kvOf("http_request", request(`/v1/plans?${range}`))).toEqual({ reads: 1, writes: 0, lists: 0 });
  });

  it.skipIf(!env.TEST_UPSTASH_URL)("Upstash commands are counted the same way", async () => {
    const upstash = { ...verbose, UPSTASH_REDIS_REST_URL: env.TEST_UPSTASH_URL, UPSTASH_REDIS_REST_TOKEN: env.TEST_UPSTASH_TOKEN } as Env;
    const created = subscriberMessage(`up@${uniqueDomain()}`);
    expect(await kvOf("queue_batch", () => runBatch([created], { env: upstash }))).toEqual({ reads: 0, writes: 0, lists: 0 });
    const get = async () => {
      resetIsolateMemory();
      const res = await app.fetch(
        new Request(`http://edge.test/v1/subscribers/${created.subscriber.id}`, authed()),
        upstash,
        createExecutionContext(),
      );
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    };
    // Neither the API key nor the subscriber is in this store yet: their fills, then two hits.
    expect(await kvOf("http_request", get)).toEqual({ reads: 2, writes: 2, lists: 0 });
    expect(await kvOf("http_request", get)).toEqual({ reads: 2, writes: 0, lists: 0 });
  });

  it("an unknown API key costs one KV read, never a write", async () => {
    const res = { headers: bearer(`sk_test_${crypto.randomUUID().replaceAll("-", "")}`) };
    expect(await kvOf("http_request", request("/v1/stats", res))).toEqual({ reads: 1, writes: 0, lists: 0 });
  });
});
