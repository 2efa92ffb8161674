import type { SubscriberWriteMessage } from "./messages.ts";
import type { SubscriberStatus } from "./schema.ts";
import { mayMoveTo } from "./schema.ts";

/**
 * For the unit tests: docs/write-rules.md restated as the simplest interpreter there is, one message
 * at a time over plain objects, written from the document and not from the planner. A message is
 * applied alone (a batch of one), so nothing here knows how a set orders its steps.
 */

type Field = "name" | "last_name" | "status";
interface ModelSubscriber {
  id: string;
  email: string;
  name: string;
  last_name: string;
  status: SubscriberStatus;
  version: number;
  writers: Record<Field, string>;
}
/** One tombstone per subscriber id, and address-only ones (id null). */
interface Grave {
  id: string | null;
  hash: string | null;
  kind: "deleted" | "forgotten";
  op: string;
  version: number;
}
interface ModelOutcome {
  status: "succeeded" | "failed" | "superseded";
  errorCode: string | null;
  subscriberId: string | null;
  version: number | null;
}
export interface World {
  subs: Map<string, ModelSubscriber>;
  graves: Grave[];
  outcomes: Map<string, ModelOutcome>;
  events: Array<{ subscriberId: string; type: string; version: number; operationId: string }>;
}

export const emptyWorld = (): World => ({ subs: new Map(), graves: [], outcomes: new Map(), events: [] });

const lower = (e: string) => e.trim().toLowerCase();
const newest = (gs: Grave[]) => [...gs].sort((a, b) => (a.op < b.op ? 1 : -1))[0];

/** A tombstone for an id merges into its one: forgotten sticks, of two deletes the older stays, else the newer. */
function bury(w: World, g: Grave): void {
  const old = g.id ? w.graves.find((x) => x.id === g.id) : undefined;
  if (!old) return void w.graves.push(g);
  const [older, newer] = [g.op, old.op].sort();
  old.op = g.kind === "deleted" && old.kind === "deleted" ? older! : newer!;
  if (g.kind === "forgotten") old.kind = "forgotten";
  old.hash = g.hash ?? old.hash;
  old.version = Math.max(old.version, g.version);
}

export function applyOne(w: World, m: SubscriberWriteMessage, hashOf: (email: string) => string): void {
  // The operation is its id; its place in the order of acceptance is its order_id when it has one.
  const opId = m.operation_id;
  const op = m.order_id ?? m.operation_id;
  if (w.outcomes.has(opId)) return;
  const done = (status: ModelOutcome["status"], subscriberId: string | null, more: Partial<ModelOutcome> = {}) =>
    w.outcomes.set(opId, { status, errorCode: null, subscriberId, version: null, ...more });
  const event = (subscriberId: string, type: string, version: number) => w.events.push({ subscriberId, type, version, operationId: opId });

  if (m.type === "subscriber.create") {
    const { id, email } = m.subscriber;
    const byAddress = newest(w.graves.filter((g) => g.hash === hashOf(email)));
    if (w.graves.some((g) => g.id === id) || (byAddress && byAddress.op > op)) return void done("superseded", id);
    const owner = [...w.subs.values()].find((s) => lower(s.email) === lower(email));
    if (owner)
      return void (owner.id === id ? done("succeeded", id, { version: 1 }) : done("failed", owner.id, { errorCode: "already_exists" }));
    const { name, last_name, status } = m.subscriber;
    w.subs.set(id, { id, email: email.trim(), name, last_name, status, version: 1, writers: { name: op, last_name: op, status: op } });
    event(id, "subscriber.created", 1);
    return void done("succeeded", id, { version: 1 });
  }
  if (m.type === "subscriber.forget") {
    forget(w, m, hashOf);
    return;
  }

  const id = m.subscriber_id;
  const s = w.subs.get(id);
  if (!s) {
    const grave = w.graves.find((g) => g.id === id);
    if (grave && grave.op > op) done("superseded", id);
    else done("failed", id, { errorCode: "not_found" });
    // A delete that overtook the create still wins; of two deletes the subscriber was gone from the older.
    if (m.type === "subscriber.delete" && (!grave || (grave.kind === "deleted" && grave.op > op)))
      bury(w, { id, hash: null, kind: "deleted", op, version: 0 });
    return;
  }
  const matches = (m.if_match === undefined || m.if_match === s.version) && (m.if_match_any?.includes(s.version) ?? true);
  if (!matches) return void done("failed", id, { errorCode: "precondition_failed", version: s.version });
  if (m.type === "subscriber.delete") {
    w.subs.delete(id);
    bury(w, { id, hash: hashOf(s.email), kind: "deleted", op, version: s.version + 1 });
    event(id, "subscriber.deleted", s.version + 1);
    return void done("succeeded", id, { version: s.version + 1 });
  }
  const fields = (Object.keys(m.changes) as Field[]).filter((f) => m.changes[f] !== undefined && s.writers[f] < op);
  if (fields.length === 0) return void done("superseded", id, { version: s.version });
  const to = fields.includes("status") ? m.changes.status! : s.status;
  if (!mayMoveTo(s.status, to)) return void done("failed", id, { errorCode: "invalid_transition", version: s.version });
  const before = `${s.name}|${s.last_name}|${s.status}`;
  const from = s.status;
  for (const f of fields) {
    s.writers[f] = op;
    if (f === "status") s.status = to;
    else s[f] = m.changes[f]!;
  }
  if (`${s.name}|${s.last_name}|${s.status}` !== before) {
    s.version++;
    event(id, to === "unsubscribed" && from !== "unsubscribed" ? "subscriber.unsubscribed" : "subscriber.updated", s.version);
  }
  done("succeeded", id, { version: s.version });
}

/** Erasure: removes what it finds, turns deletes' tombstones into its own, tombstones what it overtook. */
function forget(w: World, m: Extract<SubscriberWriteMessage, { type: "subscriber.forget" }>, hashOf: (email: string) => string): void {
  const hash = m.email ? hashOf(m.email) : null;
  const op = m.order_id ?? m.operation_id;
  const live = [...w.subs.values()]
    .filter((s) => s.id === m.subscriber_id || (m.email && lower(s.email) === lower(m.email)))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const buried = w.graves.filter((g) => (m.subscriber_id && g.id === m.subscriber_id) || (hash && g.hash === hash));
  const ids = new Set([
    ...live.map((s) => s.id),
    ...buried.flatMap((g) => (g.id ? [g.id] : [])),
    ...(m.subscriber_id ? [m.subscriber_id] : []),
  ]);
  for (const [opId, o] of w.outcomes)
    if (o.subscriberId && ids.has(o.subscriberId)) w.outcomes.set(opId, { ...o, subscriberId: null, errorCode: "erased" });
  const versions = new Map<string, number>();
  for (const g of buried)
    if (g.id && !live.some((s) => s.id === g.id) && g.kind === "deleted") {
      versions.set(g.id, g.version + 1);
      bury(w, { ...g, kind: "forgotten", op, version: g.version + 1 });
    }
  const idFound = !m.subscriber_id || live.some((s) => s.id === m.subscriber_id) || buried.some((g) => g.id === m.subscriber_id);
  const hashKnown = !hash || live.length > 0 || buried.some((g) => g.hash === hash);
  for (const s of live) {
    w.subs.delete(s.id);
    versions.set(s.id, s.version + 1);
    bury(w, { id: s.id, hash: hashOf(s.email), kind: "forgotten", op, version: s.version + 1 });
  }
  if (!idFound || !hashKnown)
    bury(w, { id: idFound ? null : m.subscriber_id!, hash: hashKnown ? null : hash, kind: "forgotten", op, version: 0 });
  for (const [id, version] of versions)
    w.events.push({ subscriberId: id, type: "subscriber.forgotten", version, operationId: m.operation_id });
  const primary = live[0]?.id ?? m.subscriber_id ?? buried.find((g) => g.id)?.id ?? null;
  w.outcomes.set(m.operation_id, {
    status: "succeeded",
    errorCode: null,
    subscriberId: primary,
    version: primary ? (versions.get(primary) ?? null) : null,
  });
}
