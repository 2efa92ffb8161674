import type { NewOperationRow } from "../db/repositories/operations.ts";
import type { NewSubscriberEventRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberCreateMessage, SubscriberWriteMessage } from "./messages.ts";
import { orderOf } from "./messages.ts";
import { normalizeEmail } from "./model.ts";
import type { SubscriberChange } from "./set-plan.ts";
import { SetPlan, toLoad } from "./set-plan.ts";

/**
 * For the unit tests: the consumer's steps (writes.ts, set-apply.ts) run through SetPlan against
 * in-memory tables instead of Postgres, with the tables' own rules (the tombstone merge of
 * saveTombstones, first outcome wins, the erasure of operations) restated here.
 */

export const hashOf = (email: string) => `h:${normalizeEmail(email)}`;
const at = new Date("2026-01-01T00:00:00.000Z");

/** The planners' tests' subscriber id, and operation ids that sort as their numbers. */
export const FIXTURE_ID = "0190a000-0000-7000-8000-0000000000aa";
export const opId = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`;

/** A stored subscriber whose every field was last written by `fieldOp`. */
export const subscriberRow = (fieldOp: string, over: Partial<SubscriberRow> = {}): SubscriberRow => ({
  id: FIXTURE_ID,
  email: "a@example.com",
  name: "Ada",
  lastName: "Lovelace",
  status: "active",
  createdAt: at,
  updatedAt: at,
  unsubscribedAt: null,
  version: 1,
  fieldOps: { name: fieldOp, last_name: fieldOp, status: fieldOp },
  ...over,
});

export interface Tables {
  subscribers: Map<string, SubscriberRow>;
  tombstones: TombstoneRow[];
  operations: Map<string, NewOperationRow>;
  events: NewSubscriberEventRow[];
}

export const emptyTables = (): Tables => ({ subscribers: new Map(), tombstones: [], operations: new Map(), events: [] });

/** saveTombstones: one per subscriber id (forgotten sticks; of two deletes the older stays, otherwise the newer). */
function saveTombstones(t: Tables, rows: SetPlan["newTombstones"]): void {
  for (const r of rows) {
    const old = r.subscriberId ? t.tombstones.find((x) => x.subscriberId === r.subscriberId) : undefined;
    if (!old) {
      t.tombstones.push({
        id: t.tombstones.length + 1,
        createdAt: at,
        ...r,
        emailHash: r.emailHash ?? null,
        subscriberId: r.subscriberId ?? null,
      });
      continue;
    }
    const bothDeletes = r.kind === "deleted" && old.kind === "deleted";
    const newer = r.operationId > old.operationId;
    old.operationId = bothDeletes ? (newer ? old.operationId : r.operationId) : newer ? r.operationId : old.operationId;
    old.kind = r.kind === "forgotten" ? "forgotten" : old.kind;
    old.emailHash = r.emailHash ?? old.emailHash;
    old.version = Math.max(r.version, old.version);
  }
}

/** One set, as applySet runs it (after storeSubscriberWrites deduplicated and sorted the batch). */
export function storeBatch(t: Tables, batch: readonly SubscriberWriteMessage[]): void {
  const all = [...new Map(batch.map((m) => [m.operation_id, m])).values()].sort((a, b) => (orderOf(a) < orderOf(b) ? -1 : 1));
  const messages = all.filter((m) => !t.operations.has(m.operation_id));
  const creates = messages.filter((m): m is SubscriberCreateMessage => m.type === "subscriber.create");
  const changes = messages.filter((m): m is SubscriberChange => m.type !== "subscriber.create");
  const load = toLoad(messages);
  const messageHashes = messages.flatMap((m) =>
    m.type === "subscriber.create" ? [hashOf(m.subscriber.email)] : m.type === "subscriber.forget" && m.email ? [hashOf(m.email)] : [],
  );
  const locked = [...t.subscribers.values()]
    .filter((r) => load.lockIds.includes(r.id) || load.lockEmails.includes(normalizeEmail(r.email)))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const loaded = t.tombstones
    .filter((x) => (x.subscriberId && load.ids.includes(x.subscriberId)) || (x.emailHash && messageHashes.includes(x.emailHash)))
    .map((x) => ({ ...x }));
  const hashes = new Map<string, string>();
  for (const m of messages) {
    const email = m.type === "subscriber.create" ? m.subscriber.email : m.type === "subscriber.forget" ? m.email : undefined;
    if (email) hashes.set(normalizeEmail(email), hashOf(email));
  }
  for (const r of locked) hashes.set(normalizeEmail(r.email), hashOf(r.email));

  const plan = new SetPlan(locked, loaded, hashes, () => at);
  const waiting = plan.changes(changes, creates);
  for (const e of plan.erasures)
    for (const [id, o] of t.operations)
      if (o.subscriberId && e.ids.includes(o.subscriberId) && id !== e.operationId)
        Object.assign(o, { subscriberId: null, errorCode: "erased" });
  for (const r of plan.removed) t.subscribers.delete(r.id);
  saveTombstones(t, plan.newTombstones);
  if (creates.length > 0) {
    const { live, emails } = plan.liveCreates(creates);
    const existing = new Map([...t.subscribers.values()].map((r) => [normalizeEmail(r.email), r.id]));
    const inserts = plan.creates(live, new Map(emails.flatMap((e) => (existing.has(e) ? [[e, existing.get(e)!]] : []))));
    const rows = inserts.map(
      (r): SubscriberRow => ({ createdAt: at, updatedAt: at, version: 1, unsubscribedAt: null, fieldOps: {}, ...r }) as SubscriberRow,
    );
    for (const r of rows) t.subscribers.set(r.id, r);
    plan.insertedRows(rows);
  }
  for (const m of waiting) plan.update(m);
  const w = plan.writes();
  for (const r of w.saves) t.subscribers.set(r.id, r);
  t.events.push(...w.events);
  for (const o of w.operations) if (!t.operations.has(o.id)) t.operations.set(o.id, o);
}
