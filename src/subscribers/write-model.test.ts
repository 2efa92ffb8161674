import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SubscriberCreateMessage, SubscriberWriteMessage } from "./messages.ts";
import type { SubscriberStatus } from "./schema.ts";
import type { Tables } from "./write-model.fixture.ts";
import { emptyTables, hashOf, storeBatch } from "./write-model.fixture.ts";
import type { World } from "./write-rules.model.ts";
import { applyOne, emptyWorld } from "./write-rules.model.ts";

// Three subscriber ids; the third asks for the first one's address (in other letters).
const ids = ["0190a000-0000-7000-8000-0000000000a1", "0190a000-0000-7000-8000-0000000000b2", "0190a000-0000-7000-8000-0000000000c3"];
const emailOf = (id: string) => (id === ids[1] ? "b@example.com" : id === ids[2] ? "A@Example.com" : "a@example.com");
const op = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`;
/**
 * Every third write is keyed (an Idempotency-Key's id, src/subscribers/operation-id.ts): its id holds
 * no time and here sorts against the order of acceptance, which its order_id carries.
 */
const keyedId = (n: number) => `f0000000-0000-8000-8000-${String(1000 - n).padStart(12, "0")}`;
const base = (n: number) => ({
  v: 1 as const,
  ...(n % 3 === 0 ? { operation_id: keyedId(n), order_id: op(n) } : { operation_id: op(n) }),
  requested_at: "2026-01-01T00:00:00.000Z",
});

type Intent = (n: number) => SubscriberWriteMessage;
const statuses: SubscriberStatus[] = ["unconfirmed", "active", "unsubscribed", "bounced", "junk"];
const ifMatch = fc.constantFrom({}, {}, { if_match: 1 }, { if_match: 2 }, { if_match: 3 }, { if_match_any: [1, 2] });
const name = fc.constantFrom("Ada", "Grace");

const create = (id: fc.Arbitrary<string>, status: fc.Arbitrary<SubscriberStatus>): fc.Arbitrary<Intent> =>
  fc.record({ id, name, status }).map(({ id, name, status }) => (n) => ({
    type: "subscriber.create",
    ...base(n),
    subscriber: { id, email: emailOf(id), name, last_name: "L", status },
  }));
const update = (id: fc.Arbitrary<string>, status: fc.Arbitrary<SubscriberStatus>, im: fc.Arbitrary<object>): fc.Arbitrary<Intent> =>
  fc
    .record({ id, changes: fc.record({ name, last_name: name, status }, { requiredKeys: [] }), im })
    .filter((u) => Object.keys(u.changes).length > 0)
    .map(({ id, changes, im }) => (n) => ({ type: "subscriber.update", ...base(n), subscriber_id: id, changes, ...im }));
const remove = (id: fc.Arbitrary<string>, im: fc.Arbitrary<object>): fc.Arbitrary<Intent> =>
  fc.record({ id, im }).map(({ id, im }) => (n) => ({ type: "subscriber.delete", ...base(n), subscriber_id: id, ...im }));
const forget = fc.record({ id: fc.constantFrom(...ids), by: fc.constantFrom("id", "email", "both") }).map(
  ({ id, by }): Intent =>
    (n) => ({
      type: "subscriber.forget",
      ...base(n),
      ...(by !== "email" ? { subscriber_id: id } : {}),
      ...(by !== "id" ? { email: emailOf(id) } : {}),
    }),
);

const anyId = fc.constantFrom(...ids);
const anyWrite = fc.oneof(
  { arbitrary: create(anyId, fc.constantFrom(...statuses.slice(0, 4))), weight: 3 },
  { arbitrary: update(anyId, fc.constantFrom(...statuses), ifMatch), weight: 4 },
  { arbitrary: remove(anyId, ifMatch), weight: 2 },
  { arbitrary: forget, weight: 1 },
);

/** Messages with operation ids in the order given, then a delivery: a shuffle with redeliveries, cut into batches. */
const deliveries = (intents: fc.Arbitrary<Intent[]>) =>
  intents.chain((is) => {
    const messages = is.map((f, i) => f(i + 1));
    return fc
      .tuple(fc.shuffledSubarray(messages, { minLength: messages.length }), fc.array(fc.constantFrom(...messages), { maxLength: 3 }))
      .chain(([order, again]) =>
        fc.tuple(
          fc.constant(messages),
          fc.constant([...order, ...again]),
          fc.array(fc.boolean(), { minLength: order.length + again.length }),
        ),
      );
  });

function batches<T>(items: readonly T[], cuts: readonly boolean[]): T[][] {
  const out: T[][] = [];
  items.forEach((m, i) => {
    if (i === 0 || cuts[i]) out.push([m]);
    else out.at(-1)!.push(m);
  });
  return out;
}

const stateOf = (t: Tables) => ({
  subscribers: [...t.subscribers.values()]
    .map((r) => ({ id: r.id, email: r.email, name: r.name, last_name: r.lastName, status: r.status, version: r.version }))
    .sort((a, b) => (a.id < b.id ? -1 : 1)),
  outcomes: Object.fromEntries(
    [...t.operations].map(([id, o]) => [
      id,
      { status: o.status, errorCode: o.errorCode ?? null, subscriberId: o.subscriberId ?? null, version: o.version ?? null },
    ]),
  ),
  events: t.events.map((e) => ({ subscriberId: e.subscriberId, type: e.type, version: e.version, operationId: e.operationId })),
});
const modelStateOf = (w: World) => ({
  subscribers: [...w.subs.values()]
    .map(({ id, email, name, last_name, status, version }) => ({ id, email, name, last_name, status, version }))
    .sort((a, b) => (a.id < b.id ? -1 : 1)),
  outcomes: Object.fromEntries(w.outcomes),
  events: w.events,
});

/** The set's order (docs/write-rules.md "Order"), message by message through the model. */
function modelBatch(w: World, batch: readonly SubscriberWriteMessage[]): void {
  const order = (m: SubscriberWriteMessage) => m.order_id ?? m.operation_id;
  const sorted = [...new Map(batch.map((m) => [m.operation_id, m])).values()].sort((a, b) => (order(a) < order(b) ? -1 : 1));
  const creates = sorted.filter((m): m is SubscriberCreateMessage => m.type === "subscriber.create" && !w.outcomes.has(m.operation_id));
  const waiting: SubscriberWriteMessage[] = [];
  for (const m of sorted)
    if (m.type === "subscriber.create") continue;
    else if (m.type === "subscriber.update" && !w.subs.has(m.subscriber_id) && creates.some((c) => c.subscriber.id === m.subscriber_id))
      waiting.push(m);
    else applyOne(w, m, hashOf);
  for (const m of [...creates, ...waiting]) applyOne(w, m, hashOf);
}

describe("the consumer's write rules against a reference model (docs/write-rules.md)", () => {
  it("property: one message at a time, in any delivery order with redeliveries, outcomes, rows and events are the model's", () => {
    fc.assert(
      fc.property(deliveries(fc.array(anyWrite, { minLength: 1, maxLength: 12 })), ([, delivered]) => {
        const tables = emptyTables();
        const world = emptyWorld();
        for (const m of delivered) {
          storeBatch(tables, [m]);
          applyOne(world, m, hashOf);
        }
        expect(stateOf(tables)).toEqual(modelStateOf(world));
      }),
      { numRuns: 500 },
    );
  });

  it("property: once the creates are in, changes in any batches and any order converge on the accepted order", () => {
    // Order-independent by the rules: statuses that may all follow each other, no If-Match, one address each.
    const two = fc.constantFrom(ids[0]!, ids[1]!);
    const free = fc.constantFrom<SubscriberStatus>("active", "unsubscribed");
    const change = fc.oneof(
      { arbitrary: update(two, free, fc.constant({})), weight: 4 },
      { arbitrary: remove(two, fc.constant({})), weight: 1 },
    );
    const intents = fc
      .tuple(create(fc.constant(ids[0]!), free), create(fc.constant(ids[1]!), free), fc.array(change, { maxLength: 10 }))
      .map(([a, b, rest]) => [a, b, ...rest]);
    fc.assert(
      fc.property(deliveries(intents), ([messages, delivered, cuts]) => {
        const tables = emptyTables();
        storeBatch(tables, messages.slice(0, 2));
        for (const batch of batches(delivered, cuts)) storeBatch(tables, batch);
        const world = emptyWorld();
        for (const m of messages) applyOne(world, m, hashOf);
        const fields = (s: { id: string; name: string; last_name: string; status: string }[]) =>
          s.map(({ id, name, last_name, status }) => ({ id, name, last_name, status }));
        expect(fields(stateOf(tables).subscribers)).toEqual(fields(modelStateOf(world).subscribers));
      }),
      { numRuns: 500 },
    );
  });

  it("property: in any batches, every operation has one outcome, live rows are untombstoned and their events count 1, 2, 3…", () => {
    fc.assert(
      fc.property(deliveries(fc.array(anyWrite, { minLength: 1, maxLength: 12 })), ([messages, delivered, cuts]) => {
        const tables = emptyTables();
        for (const batch of batches(delivered, cuts)) storeBatch(tables, batch);
        expect([...tables.operations.keys()].sort()).toEqual([...new Set(messages.map((m) => m.operation_id))].sort());
        for (const row of tables.subscribers.values()) {
          expect(tables.tombstones.some((t) => t.subscriberId === row.id)).toBe(false);
          const versions = tables.events.filter((e) => e.subscriberId === row.id).map((e) => e.version);
          expect(versions).toEqual(Array.from({ length: row.version }, (_, i) => i + 1));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("property: a batch on top of any history is its messages one at a time in the set's order", () => {
    fc.assert(
      fc.property(
        deliveries(fc.array(anyWrite, { minLength: 1, maxLength: 8 })),
        fc.array(anyWrite, { minLength: 1, maxLength: 8 }),
        ([, history], more) => {
          const tables = emptyTables();
          const world = emptyWorld();
          for (const m of history) {
            storeBatch(tables, [m]);
            applyOne(world, m, hashOf);
          }
          const batch = more.map((f, i) => f(100 + i));
          // One delete or erasure per set: the set sees its own tombstones as written and merges them
          // only when it saves them, which the model (one merged tombstone per id) does not restate.
          fc.pre(batch.filter((m) => m.type === "subscriber.delete" || m.type === "subscriber.forget").length <= 1);
          const mixed = [...batch, ...history.slice(0, 2)].reverse();
          storeBatch(tables, mixed);
          modelBatch(world, mixed);
          expect(stateOf(tables)).toEqual(modelStateOf(world));
        },
      ),
      { numRuns: 500 },
    );
  });
});
