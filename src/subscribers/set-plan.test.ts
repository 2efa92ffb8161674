import { describe, expect, it } from "vitest";
import type { SubscriberWriteMessage } from "./messages.ts";
import { SetPlan, toLoad } from "./set-plan.ts";

const at = new Date("2026-01-01T00:00:00.000Z");
const id = "0190a000-0000-7000-8000-0000000000aa";
const op = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const base = (n: number) => ({ v: 1 as const, operation_id: op(n), requested_at: at.toISOString() });
const create = {
  type: "subscriber.create",
  ...base(1),
  subscriber: { id, email: "a@x.io", name: "N", last_name: "L", status: "active" },
} as const;
const update = { type: "subscriber.update", ...base(2), subscriber_id: id, changes: { name: "M" } } as const;
const forget = { type: "subscriber.forget", ...base(3), email: " A@x.io" } as const;

describe("SetPlan", () => {
  it("loads the changes' rows by id, an erasure's by address, and tombstones for every subject", () => {
    const messages: SubscriberWriteMessage[] = [create, update, forget];
    expect(toLoad(messages)).toEqual({ lockIds: [id], lockEmails: ["a@x.io"], ids: [id] });
  });

  it("an update of a row its set creates waits for the insert and is saved after it", () => {
    const plan = new SetPlan([], [], new Map([["a@x.io", "h"]]), () => at);
    const waiting = plan.changes([update], [create]);
    expect(waiting).toEqual([update]);
    const { live, emails } = plan.liveCreates([create]);
    expect(emails).toEqual(["a@x.io"]);
    const inserts = plan.creates(live, new Map());
    plan.insertedRows(
      inserts.map((r) => ({ createdAt: at, updatedAt: at, version: 1, unsubscribedAt: null, fieldOps: {}, ...r }) as never),
    );
    for (const m of waiting) plan.update(m);
    const writes = plan.writes();
    expect(writes.saves).toMatchObject([{ id, name: "M", version: 2 }]);
    expect(writes.events.map((e) => [e.type, e.version])).toEqual([
      ["subscriber.created", 1],
      ["subscriber.updated", 2],
    ]);
    expect(writes.operations.map((o) => [o.id, o.status, o.version])).toEqual([
      [op(1), "succeeded", 1],
      [op(2), "succeeded", 2],
    ]);
  });

  it("an erasure records the set's earlier outcomes about its subscribers as erased, and reduces their events", () => {
    const row = {
      id,
      email: "a@x.io",
      name: "N",
      lastName: "L",
      status: "active" as const,
      createdAt: at,
      updatedAt: at,
      unsubscribedAt: null,
      version: 1,
      fieldOps: {},
    };
    const plan = new SetPlan([row], [], new Map([["a@x.io", "h"]]), () => at);
    plan.changes([update, forget], []);
    const writes = plan.writes();
    expect(writes.saves).toEqual([]);
    expect(plan.removed).toEqual([{ id, email: "a@x.io" }]);
    expect(writes.events.map((e) => [e.type, e.data])).toEqual([
      ["subscriber.updated", { id, version: 2 }],
      ["subscriber.forgotten", { id, version: 3 }],
    ]);
    expect(writes.operations).toMatchObject([
      { id: op(3), status: "succeeded", subscriberId: id, errorCode: null, version: 3 },
      { id: op(2), status: "succeeded", subscriberId: null, errorCode: "erased", version: 2 },
    ]);
    expect(plan.erasures).toEqual([
      { operationId: op(3), ids: [id], emails: ["a@x.io"], ownOperations: [{ id: op(2), idempotencyKey: null }] },
    ]);
    expect(plan.newTombstones).toEqual([{ subscriberId: id, emailHash: "h", kind: "forgotten", operationId: op(3), version: 3 }]);
  });
});
