import type { NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import type { NewSubscriberRow, SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberCreateMessage, SubscriberDeleteMessage, SubscriberUpdateMessage } from "./messages.ts";
import { orderOf } from "./messages.ts";
import { normalizeEmail } from "./model.ts";
import { preconditionHolds } from "./preconditions.ts";
import { mayMoveTo } from "./schema.ts";

/**
 * The consumer's rules for one message as pure decisions over plain rows (set-plan.ts threads them
 * through a batch, set-apply.ts does the I/O):
 * - order is the order of acceptance (orderOf: the operation id, or a keyed id's order_id); each
 *   field remembers the order of the operation that last wrote it, and a change writes only the
 *   fields whose last writer is older than itself; tombstones keep the order of their delete or erasure;
 * - a change whose If-Match does not hold at the row's version fails precondition_failed, before
 *   anything else is looked at;
 * - a change that can write none of its fields was overtaken: superseded, at the row's version;
 * - a status it may not move to fails invalid_transition;
 * - a change that alters a value bumps the version by one and writes one event (unsubscribed when the
 *   status moves to unsubscribed, updated otherwise); one that alters nothing keeps the version but
 *   still records its fields' writer.
 */

const FIELDS = ["name", "last_name", "status"] as const;

export type UpdateDecision =
  | { kind: "failed"; errorCode: "precondition_failed" | "invalid_transition"; version: number }
  | { kind: "superseded"; version: number }
  | { kind: "applied"; row: SubscriberRow; event: "subscriber.updated" | "subscriber.unsubscribed" | undefined };

export function planUpdate(current: SubscriberRow, m: SubscriberUpdateMessage, now: () => Date = () => new Date()): UpdateDecision {
  if (!preconditionHolds(m, current.version)) return { kind: "failed", errorCode: "precondition_failed", version: current.version };
  const writes = FIELDS.filter((f) => m.changes[f] !== undefined && (current.fieldOps[f] ?? "") < orderOf(m));
  if (writes.length === 0) return { kind: "superseded", version: current.version };
  const status = writes.includes("status") ? m.changes.status! : current.status;
  if (!mayMoveTo(current.status, status)) return { kind: "failed", errorCode: "invalid_transition", version: current.version };

  const next: SubscriberRow = { ...current, fieldOps: { ...current.fieldOps } };
  for (const f of writes) next.fieldOps[f] = orderOf(m);
  if (writes.includes("name")) next.name = m.changes.name!;
  if (writes.includes("last_name")) next.lastName = m.changes.last_name!;
  next.status = status;
  const changed = next.name !== current.name || next.lastName !== current.lastName || next.status !== current.status;
  if (!changed) return { kind: "applied", row: next, event: undefined };
  next.version = current.version + 1;
  next.updatedAt = now();
  if (next.status !== current.status) next.unsubscribedAt = next.status === "unsubscribed" ? next.updatedAt : null;
  const unsubscribed = next.status === "unsubscribed" && current.status !== "unsubscribed";
  return { kind: "applied", row: next, event: unsubscribed ? "subscriber.unsubscribed" : "subscriber.updated" };
}

export type Tombstone = TombstoneRow | NewTombstoneRow;

/** The newest tombstone (by operation id) for a subscriber id or an address hash. */
export function newestTombstone(all: readonly Tombstone[], id: string | undefined, hash?: string): Tombstone | undefined {
  const matching = all.filter((t) => (id !== undefined && t.subscriberId === id) || (hash !== undefined && t.emailHash === hash));
  return matching.sort((a, b) => (a.operationId < b.operationId ? 1 : -1))[0];
}

/**
 * A change or delete whose row is gone: superseded when a newer delete or erasure removed it (it was
 * overtaken), otherwise not_found.
 */
export const missingOutcome = (tomb: Tombstone | undefined, operationId: string): "superseded" | "not_found" =>
  tomb && tomb.operationId > operationId ? "superseded" : "not_found";

/** A create is superseded by any tombstone for its id, or by one for its address newer than the create. */
export function createSuperseded(
  all: readonly Tombstone[],
  subscriberId: string,
  emailHash: string | undefined,
  operationId: string,
): boolean {
  const byAddress = newestTombstone(all, undefined, emailHash);
  return newestTombstone(all, subscriberId) !== undefined || (byAddress !== undefined && byAddress.operationId > operationId);
}

/**
 * A delete: the row goes (version + 1, tombstoned with its address's hash) unless If-Match fails at
 * its version. When the row is gone already the outcome is missingOutcome's, and the tombstones this
 * set adds (`added`, returned whole) may change:
 * - no tombstone for the id: the delete overtook its subscriber's create and still wins over it, so
 *   the id is tombstoned;
 * - the newest is a delete's, newer than this one (deleted twice, the newer delete applied first):
 *   in the accepted order the subscriber was gone from this older delete on, so its
 *   address was free from here (a create accepted between the two is not refused). The tombstone
 *   takes the older operation.
 */
export type DeletePlan =
  | { kind: "missing"; outcome: "superseded" | "not_found"; added: NewTombstoneRow[] }
  | { kind: "failed"; errorCode: "precondition_failed"; version: number }
  | { kind: "deleted"; row: SubscriberRow; tombstone: NewTombstoneRow };

export function planDelete(
  row: SubscriberRow | undefined,
  tombstones: { loaded: readonly Tombstone[]; added: readonly NewTombstoneRow[] },
  m: SubscriberDeleteMessage,
  rowEmailHash: string | null,
  now: () => Date = () => new Date(),
): DeletePlan {
  const { loaded, added } = tombstones;
  if (!row) {
    const tomb = newestTombstone([...loaded, ...added], m.subscriber_id);
    const outcome = missingOutcome(tomb, orderOf(m));
    const mine = { subscriberId: m.subscriber_id, kind: "deleted" as const, operationId: orderOf(m) };
    if (!tomb) return { kind: "missing", outcome, added: [...added, { ...mine, emailHash: null, version: 0 }] };
    if (!(tomb.kind === "deleted" && tomb.operationId > orderOf(m))) return { kind: "missing", outcome, added: [...added] };
    const ours = added.findIndex((t) => t.subscriberId === m.subscriber_id);
    if (ours >= 0) return { kind: "missing", outcome, added: added.map((t, i) => (i === ours ? { ...t, operationId: orderOf(m) } : t)) };
    return { kind: "missing", outcome, added: [...added, { ...mine, emailHash: tomb.emailHash, version: tomb.version }] };
  }
  if (!preconditionHolds(m, row.version)) return { kind: "failed", errorCode: "precondition_failed", version: row.version };
  const gone = { ...row, version: row.version + 1, updatedAt: now() };
  return {
    kind: "deleted",
    row: gone,
    tombstone: { subscriberId: row.id, emailHash: rowEmailHash, kind: "deleted", operationId: orderOf(m), version: gone.version },
  };
}

/**
 * The set's creates that no tombstone supersedes, once the stored owners of their addresses are known
 * (`existing`: lower-cased email → id). Check-then-insert, never an upsert: an address's owner is the
 * stored row or else the first create for it in the set, which is inserted; the owner's creates
 * succeed at version 1 (a redelivered create finds its own id stored), every other one fails
 * already_exists naming the owner.
 */
export interface CreatePlan {
  inserts: NewSubscriberRow[];
  /** The operation that created each inserted row, for its `subscriber.created` event. */
  createdBy: Map<string, string>;
  outcomes: Array<
    { message: SubscriberCreateMessage; subscriberId: string } & (
      | { status: "succeeded"; version: 1 }
      | { status: "failed"; errorCode: "already_exists" }
    )
  >;
}

export function planCreates(
  creates: readonly SubscriberCreateMessage[],
  existing: ReadonlyMap<string, string>,
  now: () => Date = () => new Date(),
): CreatePlan {
  const plan: CreatePlan = { inserts: [], createdBy: new Map(), outcomes: [] };
  const byEmail = new Map<string, SubscriberCreateMessage[]>();
  for (const m of creates) {
    const key = normalizeEmail(m.subscriber.email);
    byEmail.set(key, [...(byEmail.get(key) ?? []), m]);
  }
  for (const [email, group] of byEmail) {
    const ownerId = existing.get(email) ?? group[0]!.subscriber.id;
    if (!existing.has(email)) {
      const first = group[0]!;
      const { subscriber: s } = first;
      const op = orderOf(first);
      plan.inserts.push({
        id: s.id,
        email: s.email.trim(),
        name: s.name,
        lastName: s.last_name,
        status: s.status,
        unsubscribedAt: s.status === "unsubscribed" ? now() : null,
        fieldOps: { name: op, last_name: op, status: op },
      });
      plan.createdBy.set(s.id, first.operation_id);
    }
    for (const message of group)
      plan.outcomes.push(
        message.subscriber.id === ownerId
          ? { message, subscriberId: ownerId, status: "succeeded", version: 1 }
          : { message, subscriberId: ownerId, status: "failed", errorCode: "already_exists" },
      );
  }
  return plan;
}
