// The subscriber lifecycle on an at-least-once, unordered queue: order by operation id, versions,
// preconditions, tombstones and the event outbox. Messages go to the consumer directly (runBatch),
// in the orders a real queue can deliver them; the HTTP tests go through the real queue.
import { asc, eq, inArray } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { subscriberEvents, subscribers, subscriberTombstones } from "../src/db/schema.ts";
import { it } from "./harness.ts";
import type { OperationBody, Problem, SubscriberBody } from "./helpers.ts";
import { bearer, call, expectProblem, uniqueDomain } from "./helpers.ts";
import { deleteMessage, forgetMessage, operationsOf, runBatch, updateMessage } from "./queue-helpers.ts";
import { message, waitForOperations } from "./subscriber-helpers.ts";

async function created(overrides: Parameters<typeof message>[1] = {}) {
  const m = message(`life.${crypto.randomUUID().slice(0, 6)}@${uniqueDomain()}`, overrides);
  await runBatch([m]);
  return m;
}
const rowOf = async (db: DbHandle, id: string) => (await db.db.select().from(subscribers).where(eq(subscribers.id, id)))[0];
const outcomes = async (db: DbHandle, ids: string[]) => new Map((await operationsOf(db, ids)).map((o) => [o.id, o]));
const eventsOf = (db: DbHandle, id: string) =>
  db.db.select().from(subscriberEvents).where(eq(subscriberEvents.subscriberId, id)).orderBy(asc(subscriberEvents.version));

describe("order: the change the edge accepted last wins, whatever the delivery order", () => {
  it("updates delivered newest first, then redelivered: the newest stays, the older ones are superseded", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    const [u1, u2, u3] = [
      updateMessage(id, { name: "First" }),
      updateMessage(id, { name: "Second", last_name: "Two" }),
      updateMessage(id, { name: "Third" }),
    ];
    await runBatch([u3]);
    await runBatch([u1]);
    await runBatch([u2, u3, u1], { attempts: 2 });
    const row = await rowOf(db, id);
    // Per field: name from u3 (the newest to write it); last_name from u2, which no newer change touched.
    expect(row).toMatchObject({ name: "Third", lastName: "Two", version: 3 });
    const ops = await outcomes(
      db,
      [u1, u2, u3].map((u) => u.operation_id),
    );
    expect(ops.get(u3.operation_id)).toMatchObject({ status: "succeeded", version: 2 });
    expect(ops.get(u1.operation_id)).toMatchObject({ status: "superseded" });
    expect(ops.get(u2.operation_id)).toMatchObject({ status: "succeeded", version: 3 });
    // One event per applied change, versions 1..3 without gaps; the redeliveries wrote none.
    expect((await eventsOf(db, id)).map((e) => [e.version, e.type])).toEqual([
      [1, "subscriber.created"],
      [2, "subscriber.updated"],
      [3, "subscriber.updated"],
    ]);
  });

  it("out of order in one batch, the set is applied in the accepted order", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    const changes = Array.from({ length: 6 }, (_, i) => updateMessage(id, { name: `N${i}`, status: i % 2 ? "unsubscribed" : "active" }));
    await runBatch([...changes].reverse());
    expect(await rowOf(db, id)).toMatchObject({ name: "N5", status: "unsubscribed", version: 7 });
    const ops = await outcomes(
      db,
      changes.map((u) => u.operation_id),
    );
    expect(changes.map((u) => ops.get(u.operation_id)?.version)).toEqual([2, 3, 4, 5, 6, 7]);
    // Delivered again, in another order: each already has its outcome, nothing changes.
    await runBatch([changes[2]!, changes[0]!, changes[5]!], { attempts: 2 });
    expect(await rowOf(db, id)).toMatchObject({ name: "N5", version: 7 });
    expect((await eventsOf(db, id)).map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("an update and a newer delete in one batch both apply, each with its event", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    const update = updateMessage(id, { name: "Last words" });
    const del = deleteMessage(id);
    await runBatch([del, update]);
    const ops = await outcomes(db, [update.operation_id, del.operation_id]);
    expect(ops.get(update.operation_id)).toMatchObject({ status: "succeeded", version: 2 });
    expect(ops.get(del.operation_id)).toMatchObject({ status: "succeeded", version: 3 });
    expect((await eventsOf(db, id)).map((e) => e.type)).toEqual(["subscriber.created", "subscriber.updated", "subscriber.deleted"]);
  });

  it("unsubscribing records unsubscribed_at and an unsubscribed event; resubscribing clears it", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    await runBatch([updateMessage(id, { status: "unsubscribed" })]);
    expect((await rowOf(db, id))?.unsubscribedAt).toBeInstanceOf(Date);
    await runBatch([updateMessage(id, { status: "active" })]);
    expect(await rowOf(db, id)).toMatchObject({ status: "active", unsubscribedAt: null, version: 3 });
    expect((await eventsOf(db, id)).map((e) => e.type)).toEqual(["subscriber.created", "subscriber.unsubscribed", "subscriber.updated"]);
  });

  it("a transition the current status forbids fails invalid_transition and changes nothing", async ({ db }) => {
    const c = await created({ status: "active" });
    const id = c.subscriber.id;
    await runBatch([updateMessage(id, { status: "bounced" })]);
    const back = updateMessage(id, { status: "active", name: "Changed" });
    await runBatch([back]);
    expect((await outcomes(db, [back.operation_id])).get(back.operation_id)).toMatchObject({
      status: "failed",
      errorCode: "invalid_transition",
    });
    expect(await rowOf(db, id)).toMatchObject({ status: "bounced", name: c.subscriber.name, version: 2 });
  });
});

describe("no resurrection", () => {
  it("a create redelivered after its delete is superseded, and so is an older update", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    const staleUpdate = updateMessage(id, { name: "Late" });
    const del = deleteMessage(id);
    await runBatch([del]);
    expect(await rowOf(db, id)).toBeUndefined();
    // The create's first outcome stands; a fresh copy of it (a replay under a new operation) is refused.
    const replay = { ...c, operation_id: uuidv7() };
    await runBatch([c, replay, staleUpdate], { attempts: 3 });
    expect(await rowOf(db, id)).toBeUndefined();
    const ops = await outcomes(db, [replay.operation_id, staleUpdate.operation_id, del.operation_id]);
    expect(ops.get(replay.operation_id)?.status).toBe("superseded");
    expect(ops.get(staleUpdate.operation_id)?.status).toBe("superseded");
    expect(ops.get(del.operation_id)).toMatchObject({ status: "succeeded", version: 2 });
    const [tomb] = await db.db.select().from(subscriberTombstones).where(eq(subscriberTombstones.subscriberId, id));
    expect(tomb).toMatchObject({ kind: "deleted", operationId: del.operation_id });
    expect(tomb?.emailHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a late create of the same address, accepted before the delete, is superseded; one accepted after it creates anew", async ({ db }) => {
    const c = await created();
    const email = c.subscriber.email;
    const lateDuplicate = message(email.toUpperCase()); // accepted while c existed: would have been already_exists
    const del = deleteMessage(c.subscriber.id);
    await runBatch([del]);
    const fresh = message(email);
    await runBatch([lateDuplicate]);
    await runBatch([fresh]);
    const ops = await outcomes(db, [lateDuplicate.operation_id, fresh.operation_id]);
    expect(ops.get(lateDuplicate.operation_id)?.status).toBe("superseded");
    expect(ops.get(fresh.operation_id)?.status).toBe("succeeded");
    expect(await rowOf(db, lateDuplicate.subscriber.id)).toBeUndefined();
    expect(await rowOf(db, fresh.subscriber.id)).toMatchObject({ email, version: 1 });
  });

  it("a delete that overtook its create still wins", async ({ db }) => {
    const c = message(`overtaken@${uniqueDomain()}`);
    const del = deleteMessage(c.subscriber.id);
    await runBatch([del]);
    await runBatch([c]);
    expect(await rowOf(db, c.subscriber.id)).toBeUndefined();
    const ops = await outcomes(db, [c.operation_id, del.operation_id]);
    expect(ops.get(del.operation_id)).toMatchObject({ status: "failed", errorCode: "not_found" });
    expect(ops.get(c.operation_id)?.status).toBe("superseded");
  });

  it("a create and an update redelivered after an erasure bring nothing back", async ({ db }) => {
    const c = await created();
    const id = c.subscriber.id;
    const update = updateMessage(id, { name: "Before" });
    await runBatch([update]);
    const forget = forgetMessage({ id });
    await runBatch([forget]);
    const late = [{ ...c, operation_id: uuidv7() }, updateMessage(id, { name: "After" }, { operationId: update.operation_id })];
    await runBatch([c, ...late], { attempts: 4 });
    expect(await rowOf(db, id)).toBeUndefined();
    const byAddress = await db.db.select().from(subscribers).where(eq(subscribers.email, c.subscriber.email));
    expect(byAddress).toEqual([]);
    // Their records were kept as erased (no subscriber id), so the redelivered copies are already
    // decided; the create re-sent under a new operation id meets the tombstone and is superseded.
    const again = await outcomes(db, [c.operation_id, update.operation_id, late[0]!.operation_id]);
    expect([c.operation_id, update.operation_id].map((op) => again.get(op))).toMatchObject([
      { status: "succeeded", errorCode: "erased", subscriberId: null },
      { status: "succeeded", errorCode: "erased", subscriberId: null },
    ]);
    expect(again.get(late[0]!.operation_id)?.status).toBe("superseded");
    expect((await eventsOf(db, id)).map((e) => [e.type, e.data])).toEqual([
      ["subscriber.created", { id, version: 1 }],
      ["subscriber.updated", { id, version: 2 }],
      ["subscriber.forgotten", { id, version: 3 }],
    ]);
  });
});

describe("optimistic concurrency over HTTP", () => {
  async function stored(writer: string) {
    const email = `etag.${crypto.randomUUID().slice(0, 6)}@${uniqueDomain()}`;
    const res = await call("/v1/subscribers", {
      method: "POST",
      headers: { ...bearer(writer), "Content-Type": "application/json", Prefer: "wait=10" },
      body: JSON.stringify({ email, name: "Etag", last_name: "Test", status: "active" }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("etag")).toBe('"1"');
    expect(res.headers.get("preference-applied")).toBe("wait=10");
    return { email, body: await res.json<SubscriberBody>() };
  }

  it("GET returns the version as ETag and honours If-None-Match", async ({ writer }) => {
    const { body } = await stored(writer);
    const res = await call(`/v1/subscribers/${body.data.id}`, { headers: bearer(writer) });
    expect(res.headers.get("etag")).toBe('"1"');
    expect((await res.json<SubscriberBody>()).data.version).toBe(1);
    const again = await call(`/v1/subscribers/${body.data.id}`, { headers: { ...bearer(writer), "If-None-Match": '"1"' } });
    expect(again.status).toBe(304);
  });

  it("of 20 concurrent PATCHes with one ETag, exactly one is applied and 19 fail precondition_failed", async ({ db, writer }) => {
    const { body } = await stored(writer);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(`/v1/subscribers/${body.data.id}`, {
          method: "PATCH",
          headers: { ...bearer(writer), "Content-Type": "application/json", "If-Match": '"1"' },
          body: JSON.stringify({ name: `Racer${i}` }),
        }),
      ),
    );
    // The edge may already know some are stale (412 at once); the rest are decided by the consumer.
    const accepted: string[] = [];
    let refusedAtEdge = 0;
    for (const res of responses) {
      if (res.status === 202) accepted.push((await res.json<OperationBody>()).data.id);
      else {
        await expectProblem(res, 412, "precondition_failed");
        refusedAtEdge++;
      }
    }
    const ops = await waitForOperations(db, accepted);
    const applied = ops.filter((o) => o.status === "succeeded");
    expect(applied).toHaveLength(1);
    expect(ops.filter((o) => o.errorCode === "precondition_failed").length + refusedAtEdge).toBe(19);
    const row = await rowOf(db, body.data.id);
    expect(row?.version).toBe(2);
    expect(row?.name).toMatch(/^Racer\d+$/);
  });

  it("Prefer: wait answers PATCH with 200 and the new ETag, a stale If-Match with 412, DELETE with 204", async ({ writer }) => {
    const { body, email } = await stored(writer);
    const patch = (headers: Record<string, string>, json: unknown) =>
      call(`/v1/subscribers/${encodeURIComponent(email)}`, {
        method: "PATCH",
        headers: { ...bearer(writer), "Content-Type": "application/json", Prefer: "wait=10", ...headers },
        body: JSON.stringify(json),
      });
    const ok = await patch({ "If-Match": '"1"' }, { status: "unsubscribed" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    const updated = await ok.json<SubscriberBody>();
    expect(updated.data).toMatchObject({ id: body.data.id, status: "unsubscribed", version: 2 });
    expect(updated.data.unsubscribed_at).not.toBeNull();

    const stale = await patch({ "If-Match": '"1"' }, { name: "Stale" });
    const problem = await expectProblem(stale, 412, "precondition_failed");
    expect(problem.current_version).toBe(2);
    const badTransition = await patch({}, { status: "bounced" });
    const p422 = await expectProblem(badTransition, 422, "validation_failed");
    expect(p422.code).toBe("invalid_transition");
    const never = await patch({}, { status: "unconfirmed" });
    expect((await expectProblem(never, 422, "validation_failed")).errors?.[0]?.field).toBe("status");
    const immutable = await patch({}, { email: "other@example.com" });
    await expectProblem(immutable, 422, "validation_failed");

    const del = await call(`/v1/subscribers/${body.data.id}`, { method: "DELETE", headers: { ...bearer(writer), Prefer: "wait=10" } });
    expect(del.status).toBe(204);
    await expectProblem(await call(`/v1/subscribers/${body.data.id}`, { headers: bearer(writer) }), 404, "not_found");
    // The address is free again: a new POST creates a new subscriber.
    const again = await call("/v1/subscribers", {
      method: "POST",
      headers: { ...bearer(writer), "Content-Type": "application/json", Prefer: "wait=10" },
      body: JSON.stringify({ email, name: "Again", last_name: "Test" }),
    });
    expect(again.status).toBe(201);
    expect((await again.json<SubscriberBody>()).data.id).not.toBe(body.data.id);
  });

  it("changes take Idempotency-Key: a retry replays the operation, a different request with it is refused", async ({ writer }) => {
    const { body } = await stored(writer);
    const send = (json: unknown) =>
      call(`/v1/subscribers/${body.data.id}`, {
        method: "PATCH",
        headers: { ...bearer(writer), "Content-Type": "application/json", "Idempotency-Key": `k-${body.data.id}` },
        body: JSON.stringify(json),
      });
    const first = await send({ name: "Once" });
    expect(first.status).toBe(202);
    const replay = await send({ name: "Once" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await replay.json<OperationBody>()).data.id).toBe((await first.json<OperationBody>()).data.id);
    await expectProblem(await send({ name: "Twice" }), 422, "validation_failed");
  });

  it("erasure needs subscribers:erase; a writer key is refused", async ({ db, writer }) => {
    const { body } = await stored(writer);
    const res = await call(`/v1/subscribers/${body.data.id}/forget`, { method: "POST", headers: bearer(writer) });
    const p: Problem = await expectProblem(res, 403, "forbidden");
    expect(p.detail).toMatch(/subscribers:erase/);
    const ids = [body.data.id];
    expect(await db.db.select().from(subscribers).where(inArray(subscribers.id, ids))).toHaveLength(1);
  });
});
