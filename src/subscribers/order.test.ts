import { describe, expect, it } from "vitest";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberDeleteMessage, SubscriberUpdateMessage } from "./messages.ts";
import { keyedOperationId } from "./operation-id.ts";
import { FIXTURE_ID, opId, subscriberRow } from "./write-model.fixture.ts";
import { planDelete, planUpdate } from "./write-plan.ts";
import { oncePerOperation } from "./writes.ts";

// A keyed operation id (src/subscribers/operation-id.ts) holds no time: its place in the order of
// acceptance is its message's order_id, and every rule that compares operations uses that.

const KEY = "k".repeat(32);
const at = new Date("2026-01-01T00:00:00.000Z");
const id = FIXTURE_ID;
const order = opId;
const row = (over: Partial<SubscriberRow> = {}) => subscriberRow(order(5), over);

async function keyedUpdate(key: string, n: number, name: string, mac = "a".repeat(64)): Promise<SubscriberUpdateMessage> {
  const operation_id = await keyedOperationId(KEY, "subscriber.update", "api-key", key);
  return {
    type: "subscriber.update",
    v: 1,
    operation_id,
    order_id: order(n),
    requested_at: at.toISOString(),
    request_mac: mac,
    subscriber_id: id,
    changes: { name },
  };
}

describe("the order of keyed operations", () => {
  it("a keyed change applies by its order_id, whatever its id's bits", async () => {
    const newer = await keyedUpdate("k1", 9, "New");
    const older = await keyedUpdate("k2", 3, "Old");
    const applied = planUpdate(row(), newer);
    expect(applied).toMatchObject({ kind: "applied", row: { name: "New", fieldOps: { name: order(9) } } });
    expect(planUpdate(row(), older)).toEqual({ kind: "superseded", version: 1 });
  });

  it("a keyed delete's tombstone keeps its order", async () => {
    const m: SubscriberDeleteMessage = {
      type: "subscriber.delete",
      v: 1,
      operation_id: await keyedOperationId(KEY, "subscriber.delete", "api-key", "d"),
      order_id: order(7),
      requested_at: at.toISOString(),
      subscriber_id: id,
    };
    const plan = planDelete(row(), { loaded: [], added: [] }, m, "hash");
    expect(plan).toMatchObject({ kind: "deleted", tombstone: { operationId: order(7) } });
  });

  it("one Idempotency-Key in a batch is one operation: the first accepted; another request under it is a conflict", async () => {
    const first = await keyedUpdate("same", 4, "A");
    const again = await keyedUpdate("same", 6, "A");
    const other = await keyedUpdate("same", 5, "B", "b".repeat(64));
    const plain = { ...(await keyedUpdate("x", 1, "C")), operation_id: order(1), order_id: undefined };
    const { unique, duplicates, conflicts } = oncePerOperation([again, other, first, plain]);
    expect(unique.map((m) => m.order_id ?? m.operation_id)).toEqual([order(1), order(4)]);
    expect(duplicates).toBe(1);
    expect(conflicts).toEqual([other.operation_id]);
  });
});
