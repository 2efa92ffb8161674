import type { NewTombstoneRow, TombstoneRow } from "../db/repositories/subscriber-history.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberUpdateMessage } from "./messages.ts";
import { preconditionHolds } from "./preconditions.ts";
import { mayMoveTo } from "./schema.ts";

/**
 * The consumer's write rules as pure decisions over plain rows (the I/O is in writes.ts):
 * - order is the operation id's; each field remembers the operation that last wrote it, and a change
 *   writes only the fields whose last writer is older than itself;
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
  const writes = FIELDS.filter((f) => m.changes[f] !== undefined && (current.fieldOps[f] ?? "") < m.operation_id);
  if (writes.length === 0) return { kind: "superseded", version: current.version };
  const status = writes.includes("status") ? m.changes.status! : current.status;
  if (!mayMoveTo(current.status, status)) return { kind: "failed", errorCode: "invalid_transition", version: current.version };

  const next: SubscriberRow = { ...current, fieldOps: { ...current.fieldOps } };
  for (const f of writes) next.fieldOps[f] = m.operation_id;
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

type Tombstone = TombstoneRow | NewTombstoneRow;

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
