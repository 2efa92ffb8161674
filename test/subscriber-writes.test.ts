import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { createApp } from "../src/http/app.ts";
import { cacheKeys } from "../src/subscribers/model.ts";
import { it } from "./harness.ts";
import type { Problem, SubscriberBody } from "./helpers.ts";
import { bearer, call, postJson, uniqueDomain, waitFor } from "./helpers.ts";
import type { OperationBody } from "./subscriber-helpers.ts";
import { storedIn, waitForOperations } from "./subscriber-helpers.ts";

describe("POST /v1/subscribers end to end through the real queue", () => {
  it("200 concurrent POSTs with case variants and identical races store exactly the unique set, once", async ({ db, writer }) => {
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
    const outcomes = await waitForOperations(
      db,
      accepted.map((a) => a.data.id),
    );

    const stored = await storedIn(db, domain);
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

  it("answers 202 with Location, and the operation goes from pending to succeeded", async ({ writer, reader }) => {
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
    expect((await sub.json<SubscriberBody>()).data).toMatchObject({ email, name: "Ada", last_name: "Lovelace", status: "unconfirmed" });

    // Read by email, the edge knows the address: a second POST, in another case, is a 409 naming the owner.
    expect((await call(`/v1/subscribers/${encodeURIComponent(email)}`, { headers: bearer(reader) })).status).toBe(200);
    const emailKey = await cacheKeys.byEmail(email);
    await waitFor(async () => (await env.CACHE.get(emailKey)) !== null, 5_000, "the read's fill by email");
    const again = await postJson("/v1/subscribers", { email: email.toUpperCase(), name: "X", last_name: "Y" }, bearer(writer));
    expect(again.status).toBe(409);
    expect((await again.json<Problem>()).existing_id).toBe(body.data.subscriber_id);
  });

  it("an operation is never in KV: pending from its signed id, finished from Postgres, then this location's Cache API", async ({
    db,
    writer,
    reader,
  }) => {
    const email = `opcache@${uniqueDomain()}`;
    const res = await postJson("/v1/subscribers", { email, name: "Op", last_name: "Cache" }, bearer(writer));
    const op = (await res.json<OperationBody>()).data;
    const key = `op:v1:${op.id}`;
    await waitForOperations(db, [op.id]);
    expect(await env.CACHE.get(key)).toBeNull();
    const read = await call(`/v1/operations/${op.id}`, { headers: bearer(reader) });
    expect((await read.json<OperationBody>()).data).toMatchObject({ id: op.id, status: "succeeded", subscriber_id: op.subscriber_id });
    expect(await env.CACHE.get(key)).toBeNull();
  });

  it("replays the first response for the same Idempotency-Key and body, and rejects a different body", async ({ db, writer }) => {
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

    await waitForOperations(db, [a.data.id]);
    expect(await storedIn(db, email.split("@")[1]!)).toHaveLength(1);
  });

  it("answers 503 with Retry-After and reports nothing as accepted when the queue refuses the message", async ({ writer }) => {
    const email = `q@${uniqueDomain()}`;
    const brokenQueue = {
      send: () => Promise.reject(new Error("queue unavailable")),
      sendBatch: () => Promise.reject(new Error("queue unavailable")),
    };
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
