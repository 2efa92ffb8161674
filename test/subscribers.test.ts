import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ilike, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadLetters, operations, subscribers } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import worker from "../src/index.ts";
import { bearer, call, createTestKey, databaseDown, postJson, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { runBatch, storedIn as storedInDomain, subscriberMessage, waitForOperations as waitForOps } from "./queue-helpers.ts";

const db = testDb();
let writer: string;
let reader: string;
afterAll(() => db.close());
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "writer");
  reader = await createTestKey(db, ["subscribers:read"], "reader");
});

type Problem = { type: string; status: number; detail: string; request_id: string; errors?: { field: string; message: string }[]; existing_id?: string };
type OperationBody = { data: { id: string; status: string; subscriber_id: string; error: { code: string } | null } };

const storedIn = (domain: string) => storedInDomain(db, domain);
const message = subscriberMessage;
const waitForOperations = (ids: string[]) => waitForOps(db, ids);

describe("POST /v1/subscribers end to end through the real queue", () => {
  it("200 concurrent POSTs with case variants and identical races store exactly the unique set, once", async () => {
    const domain = uniqueDomain();
    const unique = Array.from({ length: 120 }, (_, i) => `user${i}@${domain}`);
    const bodies = [
      ...unique.map((email) => ({ email, name: "N", last_name: "L", status: "active" })),
      // 40 case variants of existing addresses, 40 byte-identical duplicates racing their originals.
      ...unique.slice(0, 40).map((email) => ({ email: email.toUpperCase(), name: "N", last_name: "L", status: "active" })),
      ...unique.slice(40, 80).map((email) => ({ email, name: "N", last_name: "L", status: "active" })),
    ];
    const responses = await Promise.all(bodies.map((b) => postJson("/v1/subscribers", b, bearer(writer))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 202 && s !== 409)).toEqual([]);

    const accepted = await Promise.all(responses.filter((r) => r.status === 202).map((r) => r.json<OperationBody>()));
    const outcomes = await waitForOperations(accepted.map((a) => a.data.id));

    const stored = await storedIn(domain);
    expect(stored.map((s) => s.email.toLowerCase()).sort()).toEqual([...unique].sort());
    expect(new Set(stored.map((s) => s.id)).size).toBe(120);
    // Every accepted operation has an outcome; exactly one succeeded per stored subscriber.
    const succeeded = outcomes.filter((o) => o.status === "succeeded");
    expect(new Set(succeeded.map((o) => o.subscriberId))).toEqual(new Set(stored.map((s) => s.id)));
    expect(succeeded.length).toBe(120);
    for (const o of outcomes.filter((o) => o.status === "failed")) {
      expect(o.errorCode).toBe("already_exists");
      expect(stored.map((s) => s.id)).toContain(o.subscriberId);
    }
  });

  it("answers 202 with Location, and the operation goes from pending to succeeded", async () => {
    const email = `ada@${uniqueDomain()}`;
    const res = await postJson("/v1/subscribers", { email, name: "Ada", last_name: "Lovelace" }, bearer(writer));
    expect(res.status).toBe(202);
    const body = await res.json<OperationBody>();
    expect(body.data).toMatchObject({ status: "pending", error: null });
    expect(res.headers.get("location")).toBe(`/v1/operations/${body.data.id}`);

    const done = await waitFor(async () => {
      const r = await call(res.headers.get("location")!, { headers: bearer(reader) });
      const b = await r.json<OperationBody>();
      return b.data.status === "succeeded" ? b : undefined;
    });
    expect(done.data.subscriber_id).toBe(body.data.subscriber_id);

    const sub = await call(`/v1/subscribers/${body.data.subscriber_id}`, { headers: bearer(reader) });
    expect(sub.status).toBe(200);
    expect((await sub.json<{ data: Record<string, unknown> }>()).data).toMatchObject({ email, name: "Ada", last_name: "Lovelace", status: "unconfirmed" });

    // Now the edge knows the address: a second POST, in another case, is a 409 naming the owner.
    const again = await postJson("/v1/subscribers", { email: email.toUpperCase(), name: "X", last_name: "Y" }, bearer(writer));
    expect(again.status).toBe(409);
    expect((await again.json<Problem>()).existing_id).toBe(body.data.subscriber_id);
  });

  it("a finished operation is cached by its first read (the consumer writes only the subscriber)", async () => {
    const email = `opcache@${uniqueDomain()}`;
    const res = await postJson("/v1/subscribers", { email, name: "Op", last_name: "Cache" }, bearer(writer));
    const op = (await res.json<OperationBody>()).data;
    await waitForOperations([op.id]);
    const key = `op:v1:${op.id}`;
    // Stored and committed, but the cache still holds what the POST wrote.
    await waitFor(async () => (await env.CACHE.get(`sub:v1:id:${op.subscriber_id}`)) !== null, 10_000, "subscriber write-through");
    expect((await env.CACHE.get<{ v: { status: string } }>(key, "json"))?.v.status).toBe("pending");
    const read = await call(`/v1/operations/${op.id}`, { headers: bearer(reader) });
    expect((await read.json<OperationBody>()).data).toMatchObject({ id: op.id, status: "succeeded", subscriber_id: op.subscriber_id });
    expect((await env.CACHE.get<{ v: { status: string; completed_at: string | null } }>(key, "json"))?.v).toMatchObject({ status: "succeeded" });
  });

  it("replays the first response for the same Idempotency-Key and body, and rejects a different body", async () => {
    const email = `idem@${uniqueDomain()}`;
    const headers = { ...bearer(writer), "Idempotency-Key": crypto.randomUUID() };
    const first = await postJson("/v1/subscribers", { email, name: "A", last_name: "B" }, headers);
    const second = await postJson("/v1/subscribers", { last_name: "B", name: "A", email }, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [await first.json<OperationBody>(), await second.json<OperationBody>()];
    expect(b.data.id).toBe(a.data.id);
    expect(b.data.subscriber_id).toBe(a.data.subscriber_id);

    const different = await postJson("/v1/subscribers", { email, name: "Other", last_name: "B" }, headers);
    expect(different.status).toBe(422);
    expect((await different.json<Problem>()).errors?.[0]?.field).toBe("Idempotency-Key");

    await waitForOperations([a.data.id]);
    expect(await storedIn(email.split("@")[1]!)).toHaveLength(1);
  });

  it("answers 503 with Retry-After and reports nothing as accepted when the queue refuses the message", async () => {
    const email = `q@${uniqueDomain()}`;
    const brokenQueue = { send: () => Promise.reject(new Error("queue unavailable")), sendBatch: () => Promise.reject(new Error("queue unavailable")) };
    const res = await createApp().fetch(
      new Request("http://edge.test/v1/subscribers", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...bearer(writer) },
        body: JSON.stringify({ email, name: "A", last_name: "B" }),
      }),
      { ...env, SUBSCRIBER_QUEUE: brokenQueue },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("location")).toBeNull();
    expect((await res.json<Problem>()).type).toBe("/problems/service_unavailable");
  });
});

describe("the queue consumer", () => {
  it("a redelivered batch changes nothing", async () => {
    const domain = uniqueDomain();
    const bodies = [message(`a@${domain}`), message(`b@${domain}`), message(`B@${domain}`)];
    const first = await runBatch(bodies);
    expect(first.result.explicitAcks).toHaveLength(3);
    const before = await storedIn(domain);
    const opsBefore = await db.db.select().from(operations).where(inArray(operations.id, bodies.map((b) => b.operation_id)));
    expect(before.map((s) => s.email)).toEqual([`a@${domain}`, `b@${domain}`]);

    const again = await runBatch(bodies, { attempts: 2 });
    expect(again.result.explicitAcks).toHaveLength(3);
    expect(await storedIn(domain)).toEqual(before);
    const opsAfter = await db.db.select().from(operations).where(inArray(operations.id, bodies.map((b) => b.operation_id)));
    expect(opsAfter).toEqual(opsBefore);
    expect(opsAfter.find((o) => o.id === bodies[2]!.operation_id)).toMatchObject({ status: "failed", errorCode: "already_exists", subscriberId: bodies[1]!.subscriber.id });
  });

  it("a poison message goes to the dead-letter queue and the rest of the batch is stored", async () => {
    const domain = uniqueDomain();
    const poison = { type: "subscriber.create", v: 1, subscriber: { email: "not-an-email" } };
    const { batch, result } = await runBatch([message(`p1@${domain}`), poison, message(`p2@${domain}`)]);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toHaveLength(0);
    expect((await storedIn(domain)).map((s) => s.email)).toEqual([`p1@${domain}`, `p2@${domain}`]);
    const poisonId = batch.messages[1]!.id;
    const row = await waitFor(async () => (await db.db.select().from(deadLetters).where(sql`${deadLetters.messageId} = ${poisonId}`))[0]);
    expect(row.reason).toMatch(/^invalid_message: .*operation_id/);
    expect(JSON.parse(row.body)).toEqual(poison);
  });

  it("with the database down, retries every message with backoff; stores them once it is back", async () => {
    const domain = uniqueDomain();
    const bodies = [message(`d1@${domain}`), message(`d2@${domain}`)];
    const down = await databaseDown(() => runBatch(bodies));
    expect(down.result.explicitAcks).toHaveLength(0);
    expect(down.result.retryMessages).toHaveLength(2);
    expect(down.result.retryMessages.map((m) => m.msgId).sort()).toEqual(down.batch.messages.map((m) => m.id).sort());
    expect(await storedIn(domain)).toHaveLength(0);

    const up = await runBatch(bodies, { attempts: 2 });
    expect(up.result.explicitAcks).toHaveLength(2);
    expect((await storedIn(domain)).map((s) => s.email)).toEqual([`d1@${domain}`, `d2@${domain}`]);
  });
});

describe("reads", () => {
  async function seedDirect(email: string) {
    const id = crypto.randomUUID();
    await db.db.insert(subscribers).values({ id, email, name: "Grace", lastName: "Hopper", status: "active" });
    return id;
  }

  it("a miss reads Postgres and fills the cache; the hit then needs no Postgres at all", async () => {
    const email = `Grace@${uniqueDomain()}`;
    const id = await seedDirect(email);
    expect(await env.CACHE.get(`sub:v1:id:${id}`)).toBeNull();

    const miss = await call(`/v1/subscribers/${id}`, { headers: bearer(reader) });
    expect(miss.status).toBe(200);
    const cachedEntry = await env.CACHE.get<{ v: { email: string } }>(`sub:v1:id:${id}`, "json");
    expect(cachedEntry?.v.email).toBe(email);

    // With Postgres unreachable, the cached subscriber (and the cached key lookup) still answer.
    const hit = await databaseDown(() => call(`/v1/subscribers/${id}`, { headers: bearer(reader) }));
    expect(hit.status).toBe(200);
    expect((await hit.json<{ data: { id: string; email: string } }>()).data).toMatchObject({ id, email });
  });

  it("a miss with Postgres unreachable is a 503 problem with Retry-After, not a 500", async () => {
    const res = await databaseDown(() => call(`/v1/subscribers/${crypto.randomUUID()}`, { headers: bearer(reader) }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await res.json<Problem>()).type).toBe("/problems/service_unavailable");
  });

  it("reads by email case-insensitively; 404 problem when absent; 422 for neither id nor email", async () => {
    const email = `Mixed.Case@${uniqueDomain()}`;
    const id = await seedDirect(email);
    const byEmail = await call(`/v1/subscribers/${encodeURIComponent(email.toLowerCase())}`, { headers: bearer(reader) });
    expect((await byEmail.json<{ data: { id: string } }>()).data.id).toBe(id);

    const absent = await call(`/v1/subscribers/${crypto.randomUUID()}`, { headers: bearer(reader) });
    expect(absent.status).toBe(404);
    expect(absent.headers.get("content-type")).toBe("application/problem+json");

    const junk = await call("/v1/subscribers/not-an-id", { headers: bearer(reader) });
    expect(junk.status).toBe(422);
    expect((await junk.json<Problem>()).errors?.[0]?.field).toBe("id_or_email");
  });

  it("a cached absence never rejects a create", async () => {
    const email = `late@${uniqueDomain()}`;
    expect((await call(`/v1/subscribers/${email}`, { headers: bearer(reader) })).status).toBe(404);
    const res = await postJson("/v1/subscribers", { email, name: "A", last_name: "B" }, bearer(writer));
    expect(res.status).toBe(202);
    const op = await res.json<OperationBody>();
    await waitForOperations([op.data.id]);
    // Write-through replaced the cached absence.
    expect((await call(`/v1/subscribers/${email}`, { headers: bearer(reader) })).status).toBe(200);
  });

  it("a failing cache never fails a read: it falls back to Postgres", async () => {
    const id = await seedDirect(`kvdown@${uniqueDomain()}`);
    const fail = () => Promise.reject(new Error("KV unavailable"));
    const brokenKv = { get: fail, put: fail, delete: fail, list: fail, getWithMetadata: fail };
    const res = await createApp().fetch(
      new Request(`http://edge.test/v1/subscribers/${id}`, { headers: bearer(reader) }),
      { ...env, CACHE: brokenKv as unknown as KVNamespace },
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect((await res.json<{ data: { id: string } }>()).data.id).toBe(id);
  });

  it("pages through subscribers newest first with opaque cursors, filters by status, never repeats a row", async () => {
    const domain = uniqueDomain();
    const base = Date.parse("2031-01-01T00:00:00Z");
    await db.db.insert(subscribers).values(
      Array.from({ length: 60 }, (_, i) => ({
        id: crypto.randomUUID(),
        email: `page${String(i).padStart(2, "0")}@${domain}`,
        name: "P",
        lastName: "Q",
        status: i % 3 === 0 ? ("bounced" as const) : ("active" as const),
        // Future timestamps keep these rows first, whatever other tests insert meanwhile.
        createdAt: new Date(base + Math.floor(i / 2) * 1000),
      })),
    );
    const seen: string[] = [];
    let url: string | null = "/v1/subscribers?limit=25";
    const sizes: number[] = [];
    while (url && seen.length < 60) {
      const res = await call(url, { headers: bearer(reader) });
      const page = await res.json<{ data: { email: string }[]; meta: { next_cursor: string | null; limit: number }; links: { next: string | null } }>();
      sizes.push(page.data.length);
      seen.push(...page.data.map((d) => d.email));
      url = page.links.next;
    }
    expect(sizes.slice(0, 2)).toEqual([25, 25]);
    const ours = seen.filter((e) => e.endsWith(domain));
    expect(ours).toHaveLength(60);
    expect(new Set(ours).size).toBe(60);
    // Rows share created_at in pairs; the id breaks the tie, so only the pairs' order is fixed.
    expect([ours.slice(0, 2).sort(), ours.slice(2, 4).sort()]).toEqual([
      [`page58@${domain}`, `page59@${domain}`],
      [`page56@${domain}`, `page57@${domain}`],
    ]);

    const bounced = await call("/v1/subscribers?status=bounced&limit=100", { headers: bearer(reader) });
    const bouncedBody = await bounced.json<{ data: { email: string; status: string }[] }>();
    expect(bouncedBody.data.every((d) => d.status === "bounced")).toBe(true);
    expect(bouncedBody.data.filter((d) => d.email.endsWith(domain))).toHaveLength(20);
  });

  it("rejects a bad cursor, a limit over 100 and unknown query parameters with 422 naming the field", async () => {
    for (const [query, field] of [
      ["cursor=abc", "cursor"],
      ["limit=101", "query.limit"],
      ["limit=0", "query.limit"],
      ["status=deleted", "query.status"],
      ["sort=email", "query"],
    ] as const) {
      const res = await call(`/v1/subscribers?${query}`, { headers: bearer(reader) });
      expect(res.status, query).toBe(422);
      expect((await res.json<Problem>()).errors?.[0]?.field, query).toBe(field);
    }
  });

  it("GET /v1/stats counts by status and is invalidated when the consumer writes", async () => {
    const before = await (await call("/v1/stats", { headers: bearer(reader) })).json<{ data: { subscribers: { total: number; by_status: Record<string, number> } } }>();
    await runBatch([message(`s1@${uniqueDomain()}`, { status: "junk" })]);
    const after = await (await call("/v1/stats", { headers: bearer(reader) })).json<typeof before>();
    expect(after.data.subscribers.by_status.junk).toBeGreaterThanOrEqual((before.data.subscribers.by_status.junk ?? 0) + 1);
    expect(after.data.subscribers.total).toBe(Object.values(after.data.subscribers.by_status).reduce((a, b) => a + b, 0));
  });
});

describe("bad input and authorization", () => {
  it("every invalid field is a 422 problem naming it; nothing is enqueued", async () => {
    const cases: Array<[unknown, string]> = [
      [{ email: "nope", name: "A", last_name: "B" }, "email"],
      [{ email: `${"x".repeat(250)}@a.io`, name: "A", last_name: "B" }, "email"],
      [{ email: "a@b.io", name: "", last_name: "B" }, "name"],
      [{ email: "a@b.io", name: "A", last_name: "B".repeat(256) }, "last_name"],
      [{ email: "a@b.io", name: "A", last_name: "B", status: "deleted" }, "status"],
      [{ email: "a@b.io", name: "A", last_name: "B", admin: true }, "body"],
      [{ name: "A", last_name: "B" }, "email"],
    ];
    for (const [body, field] of cases) {
      const res = await postJson("/v1/subscribers", body, bearer(writer));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = await res.json<Problem>();
      expect(problem.errors?.map((e) => e.field), JSON.stringify(body)).toContain(field);
    }
  });

  it("malformed JSON is 400, a non-JSON body 415, an oversized body 413", async () => {
    const malformed = await call("/v1/subscribers", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(writer) }, body: "{" });
    expect(malformed.status).toBe(400);
    const form = await call("/v1/subscribers", { method: "POST", headers: { "Content-Type": "text/plain", ...bearer(writer) }, body: "email=a" });
    expect(form.status).toBe(415);
    const big = await postJson("/v1/subscribers", { email: "a@b.io", name: "x".repeat(20_000), last_name: "B" }, bearer(writer));
    expect(big.status).toBe(413);
    for (const r of [malformed, form, big]) expect(r.headers.get("content-type")).toBe("application/problem+json");
  });

  it("SQL-looking input is stored as plain data, never executed", async () => {
    const domain = uniqueDomain();
    const name = "Robert'); DROP TABLE subscribers;--";
    const { result } = await runBatch([message(`bobby@${domain}`, { name, last_name: "' OR 1=1 --" })]);
    expect(result.explicitAcks).toHaveLength(1);
    const [row] = await storedIn(domain);
    expect(row).toMatchObject({ name, lastName: "' OR 1=1 --" });
    const byEmail = await call(`/v1/subscribers/${encodeURIComponent(`x' OR '1'='1@${domain}`)}`, { headers: bearer(reader) });
    expect(byEmail.status).toBe(404);
  });

  it("401 without a key or with a bad key, 403 with a key lacking the scope", async () => {
    const body = { email: `auth@${uniqueDomain()}`, name: "A", last_name: "B" };
    const none = await postJson("/v1/subscribers", body);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const bad = await postJson("/v1/subscribers", body, bearer("sk_this_key_does_not_exist_at_all"));
    expect(bad.status).toBe(401);
    const readOnly = await postJson("/v1/subscribers", body, bearer(reader));
    expect(readOnly.status).toBe(403);
    expect((await readOnly.json<Problem>()).detail).toMatch(/subscribers:write/);
    expect((await call("/v1/subscribers", {})).status).toBe(401);
  });
});
