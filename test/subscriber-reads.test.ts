import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { subscribers } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import type { Stats } from "../src/stats/schema.ts";
import type { Subscriber } from "../src/subscribers/schema.ts";
import { it } from "./harness.ts";
import type { Envelope, ListBody, Problem, SubscriberBody } from "./helpers.ts";
import { bearer, call, databaseDown, postJson, uniqueDomain, waitFor } from "./helpers.ts";
import { runBatch } from "./queue-helpers.ts";
import type { OperationBody } from "./subscriber-helpers.ts";
import { message, waitForOperations } from "./subscriber-helpers.ts";

describe("reads", () => {
  async function seedDirect(db: DbHandle, email: string) {
    const id = crypto.randomUUID();
    await db.db.insert(subscribers).values({ id, email, name: "Grace", lastName: "Hopper", status: "active" });
    return id;
  }

  it("a miss reads Postgres and fills the cache; the hit then needs no Postgres at all", async ({ db, reader }) => {
    const email = `Grace@${uniqueDomain()}`;
    const id = await seedDirect(db, email);
    expect(await env.CACHE.get(`sub:v1:id:${id}`)).toBeNull();

    const miss = await call(`/v1/subscribers/${id}`, { headers: bearer(reader) });
    expect(miss.status).toBe(200);
    // The fill is written after the answer is sent (waitUntil).
    const cachedEntry = await waitFor(() => env.CACHE.get<{ v: { email: string } }>(`sub:v1:id:${id}`, "json"), 5_000, "the fill");
    expect(cachedEntry.v.email).toBe(email);

    // With Postgres unreachable, the cached subscriber (and the cached key lookup) still answer.
    const hit = await databaseDown(() => call(`/v1/subscribers/${id}`, { headers: bearer(reader) }));
    expect(hit.status).toBe(200);
    expect((await hit.json<SubscriberBody>()).data).toMatchObject({ id, email });
  });

  it("a miss with Postgres unreachable is a 503 problem with Retry-After, not a 500", async ({ reader }) => {
    const res = await databaseDown(() => call(`/v1/subscribers/${crypto.randomUUID()}`, { headers: bearer(reader) }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await res.json<Problem>()).type).toBe("/problems/service_unavailable");
  });

  it("reads by email case-insensitively; 404 problem when absent; 422 for neither id nor email", async ({ db, reader }) => {
    const email = `Mixed.Case@${uniqueDomain()}`;
    const id = await seedDirect(db, email);
    const byEmail = await call(`/v1/subscribers/${encodeURIComponent(email.toLowerCase())}`, { headers: bearer(reader) });
    expect((await byEmail.json<SubscriberBody>()).data.id).toBe(id);

    const absent = await call(`/v1/subscribers/${crypto.randomUUID()}`, { headers: bearer(reader) });
    expect(absent.status).toBe(404);
    expect(absent.headers.get("content-type")).toBe("application/problem+json");

    const junk = await call("/v1/subscribers/not-an-id", { headers: bearer(reader) });
    expect(junk.status).toBe(422);
    expect((await junk.json<Problem>()).errors?.[0]?.field).toBe("id_or_email");
  });

  it("a lookup that found nothing never hides or rejects a later create", async ({ db, writer, reader }) => {
    const email = `late@${uniqueDomain()}`;
    expect((await call(`/v1/subscribers/${email}`, { headers: bearer(reader) })).status).toBe(404);
    const res = await postJson("/v1/subscribers", { email, name: "A", last_name: "B" }, bearer(writer));
    expect(res.status).toBe(202);
    const op = await res.json<OperationBody>();
    await waitForOperations(db, [op.data.id]);
    // No absence was cached (src/subscribers/model.ts): the first read after the commit finds it.
    expect((await call(`/v1/subscribers/${email}`, { headers: bearer(reader) })).status).toBe(200);
  });

  it("a failing cache never fails a read: it falls back to Postgres", async ({ db, reader }) => {
    const id = await seedDirect(db, `kvdown@${uniqueDomain()}`);
    const fail = () => Promise.reject(new Error("KV unavailable"));
    const brokenKv = { get: fail, put: fail, delete: fail, list: fail, getWithMetadata: fail };
    const res = await createApp().fetch(
      new Request(`http://edge.test/v1/subscribers/${id}`, { headers: bearer(reader) }),
      { ...env, CACHE: brokenKv as unknown as KVNamespace },
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect((await res.json<SubscriberBody>()).data.id).toBe(id);
  });

  it("pages through subscribers newest first with opaque cursors, filters by status, never repeats a row", async ({ db, reader }) => {
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
      const page = await res.json<ListBody<Subscriber>>();
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
    const bouncedBody = await bounced.json<ListBody<Subscriber>>();
    expect(bouncedBody.data.every((d) => d.status === "bounced")).toBe(true);
    expect(bouncedBody.data.filter((d) => d.email.endsWith(domain))).toHaveLength(20);
  });

  it("rejects a bad cursor, a limit over 100 and unknown query parameters with 422 naming the field", async ({ reader }) => {
    for (const [query, field] of [
      ["cursor=abc", "cursor"],
      ["limit=101", "query.limit"],
      ["limit=0", "query.limit"],
      ["status=deleted", "query.status"],
      ["sort=email", "query.sort"],
      ["order=email", "query"],
    ] as const) {
      const res = await call(`/v1/subscribers?${query}`, { headers: bearer(reader) });
      expect(res.status, query).toBe(422);
      expect((await res.json<Problem>()).errors?.[0]?.field, query).toBe(field);
    }
  });

  it("GET /v1/stats counts by status and is invalidated when the consumer writes", async ({ reader }) => {
    const before = await (await call("/v1/stats", { headers: bearer(reader) })).json<Envelope<Stats>>();
    await runBatch([message(`s1@${uniqueDomain()}`, { status: "junk" })]);
    const after = await (await call("/v1/stats", { headers: bearer(reader) })).json<Envelope<Stats>>();
    expect(after.data.subscribers.by_status.junk).toBeGreaterThanOrEqual((before.data.subscribers.by_status.junk ?? 0) + 1);
    expect(after.data.subscribers.total).toBe(Object.values(after.data.subscribers.by_status).reduce((a, b) => a + b, 0));
  });
});
