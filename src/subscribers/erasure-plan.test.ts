import { describe, expect, it } from "vitest";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import { erasureTombstones, planErasure } from "./erasure-plan.ts";
import type { SubscriberForgetMessage } from "./messages.ts";

const op = "0190a000-0000-7000-8000-000000000009";
const id = "0190a000-0000-7000-8000-0000000000aa";

describe("erasureTombstones", () => {
  it("tombstones an id with no row and no tombstone: the erasure overtook its create", () => {
    const { tombstones, versions } = erasureTombstones({ operationId: op, subscriberId: id, liveIds: [], buried: [] });
    expect(tombstones).toEqual([{ subscriberId: id, emailHash: null, kind: "forgotten", operationId: op, version: 0 }]);
    expect(versions.size).toBe(0);
  });

  it("tombstones an unknown address by its hash alone, and both together when both are unknown", () => {
    expect(erasureTombstones({ operationId: op, emailHash: "h", liveIds: [], buried: [] }).tombstones).toEqual([
      { subscriberId: null, emailHash: "h", kind: "forgotten", operationId: op, version: 0 },
    ]);
    expect(erasureTombstones({ operationId: op, subscriberId: id, emailHash: "h", liveIds: [], buried: [] }).tombstones).toEqual([
      { subscriberId: id, emailHash: "h", kind: "forgotten", operationId: op, version: 0 },
    ]);
  });

  it("adds nothing for a live row (removing it tombstones it) and turns a delete's tombstone into an erasure's", () => {
    expect(erasureTombstones({ operationId: op, subscriberId: id, emailHash: "h", liveIds: [id], buried: [] }).tombstones).toEqual([]);
    const deleted = {
      subscriberId: id,
      emailHash: "h",
      kind: "deleted" as const,
      operationId: "0190a000-0000-7000-8000-000000000001",
      version: 3,
    };
    const { tombstones, versions } = erasureTombstones({ operationId: op, subscriberId: id, liveIds: [], buried: [deleted] });
    expect(tombstones).toEqual([{ ...deleted, kind: "forgotten", operationId: op, version: 4 }]);
    expect(versions.get(id)).toBe(4);
    expect(
      erasureTombstones({ operationId: op, subscriberId: id, liveIds: [], buried: [{ ...deleted, kind: "forgotten" }] }).tombstones,
    ).toEqual([]);
  });
});

describe("planErasure", () => {
  const at = new Date("2026-01-01T00:00:00.000Z");
  const row = (rowId: string, email: string, version: number) =>
    ({
      id: rowId,
      email,
      name: "N",
      lastName: "L",
      status: "active",
      createdAt: at,
      updatedAt: at,
      unsubscribedAt: null,
      version,
      fieldOps: {},
    }) as SubscriberRow;
  const forget = (extra: Partial<SubscriberForgetMessage>) =>
    ({ type: "subscriber.forget", v: 1, operation_id: op, requested_at: at.toISOString(), ...extra }) as SubscriberForgetMessage;
  const other = "0190a000-0000-7000-8000-0000000000bb";
  const hashes = new Map([
    ["a@x.io", "ha"],
    ["b@x.io", "hb"],
  ]);

  it("removes the rows with the id or the address, tombstones them forgotten and names the first", () => {
    const plan = planErasure({
      message: forget({ subscriber_id: id, email: "B@x.io" }),
      rows: [row(id, "a@x.io", 2), row(other, "b@x.io", 5)],
      tombstones: [],
      hashes,
    });
    expect(plan.removals.map((r) => [r.id, r.version])).toEqual([
      [id, 3],
      [other, 6],
    ]);
    expect(plan.tombstones).toEqual([
      { subscriberId: id, emailHash: "ha", kind: "forgotten", operationId: op, version: 3 },
      { subscriberId: other, emailHash: "hb", kind: "forgotten", operationId: op, version: 6 },
    ]);
    expect(plan).toMatchObject({ ids: [id, other], emails: ["a@x.io", "b@x.io"], subscriberId: id, version: 3 });
    expect(plan.forgotten).toEqual([
      { id, version: 3 },
      { id: other, version: 6 },
    ]);
  });

  it("by address alone, finds a deleted subscriber through its tombstone; an unknown address has no version", () => {
    const deleted = { subscriberId: other, emailHash: "hb", kind: "deleted" as const, operationId: op, version: 2 };
    const plan = planErasure({ message: forget({ email: "b@x.io" }), rows: [row(id, "a@x.io", 1)], tombstones: [deleted], hashes });
    expect(plan).toMatchObject({
      removals: [],
      ids: [other],
      emails: ["b@x.io"],
      subscriberId: other,
      version: 3,
      forgotten: [{ id: other, version: 3 }],
    });
    const unknown = planErasure({ message: forget({ email: "c@x.io" }), rows: [], tombstones: [], hashes: new Map([["c@x.io", "hc"]]) });
    expect(unknown).toMatchObject({ ids: [], subscriberId: null, tombstones: [{ subscriberId: null, emailHash: "hc" }] });
    expect(unknown.version).toBeUndefined();
  });
});
