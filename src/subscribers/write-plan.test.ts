import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberCreateMessage, SubscriberDeleteMessage, SubscriberUpdateMessage } from "./messages.ts";
import { FIXTURE_ID, opId, subscriberRow } from "./write-model.fixture.ts";
import { createSuperseded, missingOutcome, newestTombstone, planCreates, planDelete, planUpdate } from "./write-plan.ts";

const at = new Date("2026-01-01T00:00:00.000Z");
const id = FIXTURE_ID;
const op = opId;
const row = (over: Partial<SubscriberRow> = {}) => subscriberRow(op(1), over);
const update = (n: number, changes: SubscriberUpdateMessage["changes"], extra: Partial<SubscriberUpdateMessage> = {}) =>
  ({ type: "subscriber.update", v: 1, operation_id: op(n), subscriber_id: id, changes, ...extra }) as SubscriberUpdateMessage;
const now = () => new Date(at.getTime() + 1000);

describe("planUpdate", () => {
  it("writes the newer fields, bumps the version once and names the event", () => {
    const d = planUpdate(row(), update(5, { name: "Ada B." }), now);
    expect(d).toMatchObject({ kind: "applied", event: "subscriber.updated", row: { name: "Ada B.", version: 2, updatedAt: now() } });
    if (d.kind === "applied") expect(d.row.fieldOps).toEqual({ name: op(5), last_name: op(1), status: op(1) });
    expect(planUpdate(row(), update(5, { status: "unsubscribed" }), now)).toMatchObject({
      event: "subscriber.unsubscribed",
      row: { status: "unsubscribed", unsubscribedAt: now() },
    });
  });

  it("an overtaken change is superseded; an unchanged value keeps the version but takes the field", () => {
    expect(planUpdate(row({ fieldOps: { name: op(9) } }), update(5, { name: "X" }))).toEqual({ kind: "superseded", version: 1 });
    const same = planUpdate(row(), update(5, { name: "Ada" }));
    expect(same).toMatchObject({ kind: "applied", event: undefined, row: { version: 1, fieldOps: { name: op(5) } } });
  });

  it("If-Match is checked first; a forbidden move fails invalid_transition", () => {
    const stale = { fieldOps: { name: op(9) }, version: 3 };
    expect(planUpdate(row(stale), update(5, { name: "X" }, { if_match: 2 }))).toEqual({
      kind: "failed",
      errorCode: "precondition_failed",
      version: 3,
    });
    expect(planUpdate(row({ status: "unsubscribed" }), update(5, { status: "bounced" as never }))).toMatchObject({ kind: "failed" });
  });

  it("property: updates applied in any order end where the newest write of each field puts them (the model)", () => {
    const name = fc.constantFrom("A", "B", "C");
    const change = fc.record({ name, last_name: name }, { requiredKeys: [] });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(500), { minLength: 1, maxLength: 8 }).chain((ns) =>
          fc.tuple(
            fc.constant(ns),
            fc.array(change, { minLength: ns.length, maxLength: ns.length }),
            fc.shuffledSubarray(
              ns.map((_, i) => i),
              { minLength: ns.length },
            ),
          ),
        ),
        ([ns, changes, order]) => {
          const msgs = ns.map((n, i) => update(n + 2, changes[i]!));
          let current = row();
          let events = 0;
          for (const i of order) {
            const d = planUpdate(current, msgs[i]!, now);
            if (d.kind === "applied") {
              if (d.event) events++;
              current = d.row;
            }
          }
          // The model: in operation id order, the last message that sets a field decides it.
          const model = { name: "Ada", last_name: "Lovelace" };
          for (const m of [...msgs].sort((a, b) => (a.operation_id < b.operation_id ? -1 : 1))) Object.assign(model, m.changes);
          expect({ name: current.name, last_name: current.lastName }).toEqual(model);
          expect(current.version).toBe(1 + events);
        },
      ),
    );
  });
});

describe("tombstones", () => {
  const t = (n: number, subscriberId: string | null, emailHash: string | null) => ({
    subscriberId,
    emailHash,
    kind: "deleted" as const,
    operationId: op(n),
    version: 1,
  });
  it("the newest by id or hash decides whether a missing row was overtaken", () => {
    const all = [t(3, id, null), t(7, null, "h"), t(5, id, "h")];
    expect(newestTombstone(all, id)?.operationId).toBe(op(5));
    expect(newestTombstone(all, undefined, "h")?.operationId).toBe(op(7));
    expect(newestTombstone(all, "other")).toBeUndefined();
    expect(missingOutcome(newestTombstone(all, id), op(4))).toBe("superseded");
    expect(missingOutcome(newestTombstone(all, id), op(6))).toBe("not_found");
    expect(missingOutcome(undefined, op(1))).toBe("not_found");
  });

  it("a create is superseded by any tombstone of its id, and by a newer one of its address", () => {
    expect(createSuperseded([t(3, id, null)], id, undefined, op(9))).toBe(true);
    expect(createSuperseded([t(3, "other", "h")], id, "h", op(2))).toBe(true);
    expect(createSuperseded([t(3, "other", "h")], id, "h", op(4))).toBe(false);
    expect(createSuperseded([t(3, "other", "h")], id, undefined, op(2))).toBe(false);
  });
});

describe("planDelete", () => {
  const del = (n: number, extra: Partial<SubscriberDeleteMessage> = {}) =>
    ({ type: "subscriber.delete", v: 1, operation_id: op(n), subscriber_id: id, ...extra }) as SubscriberDeleteMessage;
  const tomb = (n: number, kind: "deleted" | "forgotten" = "deleted") => ({
    subscriberId: id,
    emailHash: "h",
    kind,
    operationId: op(n),
    version: 4,
  });
  const none = { loaded: [], added: [] };

  it("removes the row at version + 1 with a tombstone of its address, unless If-Match fails", () => {
    expect(planDelete(row({ version: 3 }), none, del(5), "h", now)).toEqual({
      kind: "deleted",
      row: row({ version: 4, updatedAt: now() }),
      tombstone: { subscriberId: id, emailHash: "h", kind: "deleted", operationId: op(5), version: 4 },
    });
    expect(planDelete(row({ version: 3 }), none, del(5, { if_match_any: [1, 2] }), "h")).toEqual({
      kind: "failed",
      errorCode: "precondition_failed",
      version: 3,
    });
  });

  it("with the row gone: tombstones an unknown id, takes the older operation of two deletes, else adds nothing", () => {
    expect(planDelete(undefined, none, del(5), null)).toEqual({
      kind: "missing",
      outcome: "not_found",
      added: [{ subscriberId: id, emailHash: null, kind: "deleted", operationId: op(5), version: 0 }],
    });
    expect(planDelete(undefined, { loaded: [tomb(7)], added: [] }, del(5), null)).toEqual({
      kind: "missing",
      outcome: "superseded",
      added: [{ ...tomb(7), operationId: op(5) }],
    });
    expect(planDelete(undefined, { loaded: [], added: [tomb(7)] }, del(5), null)).toMatchObject({
      added: [{ ...tomb(7), operationId: op(5) }],
    });
    expect(planDelete(undefined, { loaded: [tomb(7, "forgotten")], added: [] }, del(5), null)).toMatchObject({
      outcome: "superseded",
      added: [],
    });
    expect(planDelete(undefined, { loaded: [tomb(3)], added: [] }, del(5), null)).toMatchObject({ outcome: "not_found", added: [] });
  });
});

describe("planCreates", () => {
  const create = (n: number, subscriberId: string, email: string) =>
    ({
      type: "subscriber.create",
      v: 1,
      operation_id: op(n),
      subscriber: { id: subscriberId, email, name: "N", last_name: "L", status: "unsubscribed" },
    }) as SubscriberCreateMessage;

  it("inserts the first create of a free address; the others fail already_exists naming the owner", () => {
    const plan = planCreates(
      [create(1, "x", " A@x.io"), create(2, "y", "a@X.io"), create(3, "z", "z@x.io")],
      new Map([["z@x.io", "w"]]),
      now,
    );
    expect(plan.inserts).toEqual([
      {
        id: "x",
        email: "A@x.io",
        name: "N",
        lastName: "L",
        status: "unsubscribed",
        unsubscribedAt: now(),
        fieldOps: { name: op(1), last_name: op(1), status: op(1) },
      },
    ]);
    expect(plan.createdBy).toEqual(new Map([["x", op(1)]]));
    expect(plan.outcomes.map(({ message, ...o }) => [message.operation_id, o])).toEqual([
      [op(1), { subscriberId: "x", status: "succeeded", version: 1 }],
      [op(2), { subscriberId: "x", status: "failed", errorCode: "already_exists" }],
      [op(3), { subscriberId: "w", status: "failed", errorCode: "already_exists" }],
    ]);
  });

  it("a redelivered create finds its own id stored: succeeded, nothing inserted", () => {
    const plan = planCreates([create(1, "x", "a@x.io")], new Map([["a@x.io", "x"]]));
    expect(plan.inserts).toEqual([]);
    expect(plan.outcomes[0]).toMatchObject({ status: "succeeded", subscriberId: "x", version: 1 });
  });
});
