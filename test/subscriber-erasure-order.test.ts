// An erasure that overtakes the create it is about, in one batch or two, in either order, and at the
// edge: the id is tombstoned, the create ends `superseded` and nothing of the person is stored. And
// the one rule for what an address is: an erasure the consumer would refuse is a 422 at the edge, and
// a forget kept as a dead letter keeps no address.
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscriberTombstones } from "../src/db/schema.ts";
import { rowsMentioning } from "./erasure-helpers.ts";
import type { OperationBody } from "./helpers.ts";
import { bearer, call, createTestKey, expectProblem, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { deleteMessage, forgetMessage, operationsOf, runBatch, subscriberMessage } from "./queue-helpers.ts";

const db = testDb();
let writer: string;
let eraser: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "order-writer");
  eraser = await createTestKey(db, ["subscribers:erase", "subscribers:read"], "order-eraser");
});
afterAll(() => db.close());

const person = () => {
  const tag = crypto.randomUUID().slice(0, 8);
  return { email: `over.${tag}@${uniqueDomain()}`, name: `Overname${tag}`, last_name: `Overlast${tag}` };
};

/** Nothing of the person anywhere in Postgres, and 404 by id and by email. */
async function expectNothingOf(p: ReturnType<typeof person>, id: string): Promise<void> {
  for (const needle of [p.email, p.name, p.last_name]) expect(await rowsMentioning(db, needle), needle).toEqual([]);
  for (const ref of [id, encodeURIComponent(p.email)])
    expect((await call(`/v1/subscribers/${ref}`, { headers: bearer(writer) })).status, ref).toBe(404);
}

const statusOf = async (opId: string) => (await operationsOf(db, [opId]))[0]?.status;
const tombstoneOf = async (id: string) => db.db.select().from(subscriberTombstones).where(eq(subscriberTombstones.subscriberId, id));

describe("an erasure by id that overtakes its create", () => {
  it("in one batch: the create is never stored and ends superseded", async () => {
    const p = person();
    const create = subscriberMessage(p.email, { name: p.name, last_name: p.last_name });
    const forget = forgetMessage({ id: create.subscriber.id });
    await runBatch([create, forget]);
    expect(await statusOf(forget.operation_id)).toBe("succeeded");
    expect(await statusOf(create.operation_id)).toBe("superseded");
    expect(await tombstoneOf(create.subscriber.id)).toMatchObject([{ kind: "forgotten" }]);
    await expectNothingOf(p, create.subscriber.id);
  });

  it("in two batches, the erasure first: the id's tombstone supersedes the create when it comes", async () => {
    const p = person();
    const create = subscriberMessage(p.email, { name: p.name, last_name: p.last_name });
    const forget = forgetMessage({ id: create.subscriber.id });
    await runBatch([forget]);
    expect(await tombstoneOf(create.subscriber.id)).toMatchObject([{ kind: "forgotten", emailHash: null }]);
    await runBatch([create]);
    expect(await statusOf(create.operation_id)).toBe("superseded");
    await expectNothingOf(p, create.subscriber.id);
  });

  it("in two batches, the create first: erased as usual, its operation 410", async () => {
    const p = person();
    const create = subscriberMessage(p.email, { name: p.name, last_name: p.last_name });
    await runBatch([create]);
    await runBatch([forgetMessage({ id: create.subscriber.id })]);
    await expectNothingOf(p, create.subscriber.id);
    await expectProblem(await call(`/v1/operations/${create.operation_id}`, { headers: bearer(writer) }), 410, "gone");
    // A redelivered create of an erased operation is already decided: nothing comes back.
    await runBatch([create]);
    await expectNothingOf(p, create.subscriber.id);
  });

  it("at the edge: POST, then at once forget by id under Prefer: wait; nothing of the person stays", { timeout: 30_000 }, async () => {
    const p = person();
    const created = await call("/v1/subscribers", {
      method: "POST",
      headers: { ...bearer(writer), "Content-Type": "application/json" },
      body: JSON.stringify(p),
    });
    expect(created.status).toBe(202);
    const createOp = (await created.json<OperationBody>()).data;
    const forget = await call(`/v1/subscribers/${createOp.subscriber_id}/forget`, {
      method: "POST",
      headers: { ...bearer(eraser), Prefer: "wait=10" },
    });
    expect(forget.status).toBe(204);
    // Polling the create: superseded if the erasure overtook it, erased (410) if it was stored first.
    const final = await waitFor(async () => {
      const res = await call(`/v1/operations/${createOp.id}`, { headers: bearer(writer) });
      if (res.status === 410) return "erased";
      const op = (await res.json<OperationBody>()).data;
      return op.status === "pending" ? undefined : op.status;
    });
    expect(["superseded", "erased"]).toContain(final);
    await expectNothingOf(p, createOp.subscriber_id!);
    const events = await db.db.execute<{ n: number }>(
      sql`select count(*)::int as n from subscriber_events where subscriber_id = ${createOp.subscriber_id} and data ? 'email'`,
    );
    expect(events.rows[0]?.n).toBe(0);
  });

  it("a DELETE by id the edge does not know yet is a 404 at once; a delete message that overtakes its create leaves an id-only tombstone", async () => {
    const p = person();
    const created = await call("/v1/subscribers", {
      method: "POST",
      headers: { ...bearer(writer), "Content-Type": "application/json" },
      body: JSON.stringify(p),
    });
    const op = (await created.json<OperationBody>()).data;
    const early = await call(`/v1/subscribers/${op.subscriber_id}`, { method: "DELETE", headers: bearer(writer) });
    // Either the create is not applied yet (404, nothing accepted) or it is (202, a normal delete).
    expect([202, 404]).toContain(early.status);

    const q = person();
    const create = subscriberMessage(q.email, { name: q.name, last_name: q.last_name });
    const del = deleteMessage(create.subscriber.id);
    await runBatch([del]);
    expect(await tombstoneOf(create.subscriber.id)).toMatchObject([{ kind: "deleted", emailHash: null }]);
    await runBatch([create]);
    expect(await statusOf(create.operation_id)).toBe("superseded");
    expect(await statusOf(del.operation_id)).toBe("failed");
  });
});

describe("one rule for an address", () => {
  it("an address the consumer would refuse is a 422 at the edge, for an erasure and a read", async () => {
    for (const bad of ["jane doe@example.com", "x@localhost", "a@b@example.com"]) {
      const ref = encodeURIComponent(bad);
      await expectProblem(
        await call(`/v1/subscribers/${ref}/forget`, { method: "POST", headers: bearer(eraser) }),
        422,
        "validation_failed",
      );
      await expectProblem(await call(`/v1/subscribers/${ref}`, { headers: bearer(writer) }), 422, "validation_failed");
    }
  });

  it("a forget the consumer refuses is kept as a dead letter with the address's keyed hash, never the address", {
    timeout: 30_000,
  }, async () => {
    const address = `jane doe.${crypto.randomUUID().slice(0, 8)}@example.com`;
    const operationId = uuidv7();
    await runBatch([
      { type: "subscriber.forget", v: 1, operation_id: operationId, requested_at: new Date().toISOString(), email: address },
    ]);
    const body = await waitFor(
      async () => {
        const r = await db.db.execute<{ body: string }>(sql`select body from dead_letters where strpos(body, ${operationId}) > 0`);
        return r.rows[0]?.body;
      },
      20_000,
      "the dead letter",
    );
    expect(body.toLowerCase()).not.toContain(address.toLowerCase());
    expect(JSON.parse(body)).toMatchObject({ email_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await statusOf(operationId)).toBe("failed");
    expect(await env.CACHE.get(`op:v1:${operationId}`)).toBeNull();
  });
});
