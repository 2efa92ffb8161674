import type { Transaction } from "../db/client.ts";
import { findDecidedOperations, lockOperationKeys, recordOperationOutcomes } from "../db/repositories/operations.ts";
import { eraseSubscriberHistory, findTombstones, insertSubscriberEvents, saveTombstones } from "../db/repositories/subscriber-history.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import {
  deleteSubscribers,
  findExistingEmails,
  insertSubscribers,
  lockSubscribers,
  saveSubscriber,
} from "../db/repositories/subscribers.ts";
import { purgeSubscriberDeliveries } from "../db/repositories/webhooks.ts";
import type { SubscriberCreateMessage, SubscriberWriteMessage } from "./messages.ts";
import { emailHash, normalizeEmail } from "./model.ts";
import { isKeyedId, keyedRoot, keyedVariants } from "./operation-id.ts";
import type { Outcome, SubscriberChange } from "./set-plan.ts";
import { SetPlan, toLoad } from "./set-plan.ts";

/** What an erasure removed, for the cache purge after commit. */
export interface Erasure {
  subscriberIds: string[];
  emails: string[];
  operations: Array<{ id: string; idempotencyKey: string | null }>;
}

export interface Applied {
  outcomes: Outcome[];
  saved: Map<string, SubscriberRow>;
  removed: Array<{ id: string; email: string }>;
  erasures: Erasure[];
  alreadyDecided: number;
  /** Operations not applied: their Idempotency-Key already made an operation for another request. */
  conflicts: string[];
}

/**
 * The messages of a set whose operations are new. One whose operation has an outcome is acked with
 * no effect: a redelivery, or the same request accepted again (another location, a retry). One
 * whose Idempotency-Key already made an operation for another request (another HMAC, or another
 * kind of write) is not applied either: a conflict, acked and logged, and the operation keeps the
 * first request's outcome. Keyed operations are decided one transaction at a time (lockOperationKeys).
 */
async function screen(tx: Transaction, hashKey: string, all: SubscriberWriteMessage[]) {
  const keyed = all.filter((m) => isKeyedId(m.operation_id));
  await lockOperationKeys(tx, [...new Set(keyed.map((m) => keyedRoot(m.operation_id)))]);
  const others = new Map<string, string[]>();
  for (const m of keyed)
    others.set(
      m.operation_id,
      (await keyedVariants(hashKey, m.operation_id)).filter((v) => v !== m.operation_id),
    );
  const known = await findDecidedOperations(tx, [...new Set([...all.map((m) => m.operation_id), ...[...others.values()].flat()])]);
  const fresh: SubscriberWriteMessage[] = [];
  const conflicts: string[] = [];
  let decided = 0;
  for (const m of all) {
    const mac = known.get(m.operation_id);
    if (known.has(m.operation_id)) {
      if (mac && m.request_mac && mac !== m.request_mac) conflicts.push(m.operation_id);
      else decided++;
    } else if (others.get(m.operation_id)?.some((v) => known.has(v))) conflicts.push(m.operation_id);
    else fresh.push(m);
  }
  return { fresh, conflicts, decided };
}

/**
 * One set in one transaction: load and lock, let SetPlan decide (set-plan.ts), write what it decided.
 * Every decision is SetPlan's; this only runs its steps between the queries they need.
 */
export async function applySet(
  tx: Transaction,
  hashKey: string,
  /** Lower-cased email → keyed hash, for every address the messages carry. */
  messageHashes: ReadonlyMap<string, string>,
  all: SubscriberWriteMessage[],
): Promise<Applied> {
  const { fresh: messages, conflicts, decided } = await screen(tx, hashKey, all);
  const creates = messages.filter((m): m is SubscriberCreateMessage => m.type === "subscriber.create");
  const changes = messages.filter((m): m is SubscriberChange => m.type !== "subscriber.create");
  const load = toLoad(messages);
  const locked = await lockSubscribers(tx, load.lockIds, load.lockEmails);
  const tombstones = await findTombstones(tx, load.ids, [...messageHashes.values()]);
  // A removed row is tombstoned with its address's hash, so no message needs to carry the address.
  const hashes = new Map(messageHashes);
  for (const row of locked) {
    const email = normalizeEmail(row.email);
    if (!hashes.has(email)) hashes.set(email, await emailHash(hashKey, email));
  }

  const plan = new SetPlan(locked, tombstones, hashes);
  const waiting = plan.changes(changes, creates);
  const erasures: Erasure[] = [];
  for (const e of plan.erasures) {
    const erased = await eraseSubscriberHistory(tx, e.ids, e.emails, e.operationId);
    await purgeSubscriberDeliveries(tx, e.ids);
    erasures.push({ subscriberIds: e.ids, emails: e.emails, operations: [...erased.operations, ...e.ownOperations] });
  }
  await deleteSubscribers(
    tx,
    plan.removed.map((r) => r.id),
  );
  await saveTombstones(tx, plan.newTombstones);
  if (creates.length > 0) {
    const { live, emails } = plan.liveCreates(creates);
    const inserts = plan.creates(live, await findExistingEmails(tx, emails));
    plan.insertedRows(await insertSubscribers(tx, inserts));
  }
  for (const m of waiting) plan.update(m);

  const writes = plan.writes();
  for (const row of writes.saves) await saveSubscriber(tx, row);
  await insertSubscriberEvents(tx, writes.events);
  await recordOperationOutcomes(tx, writes.operations);
  return { outcomes: plan.outcomes, saved: plan.saved, removed: plan.removed, erasures, alreadyDecided: decided, conflicts };
}
