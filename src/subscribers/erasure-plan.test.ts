import { describe, expect, it } from "vitest";
import { erasureTombstones } from "./erasure-plan.ts";

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
