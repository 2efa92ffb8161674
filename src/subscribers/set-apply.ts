import type { Transaction } from "../db/client.ts";
import { findDecidedOperations, recordOperationOutcomes } from "../db/repositories/operations.ts";
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
  const decided = await findDecidedOperations(
    tx,
    all.map((m) => m.operation_id),
  );
  const messages = all.filter((m) => !decided.has(m.operation_id));
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
  return { outcomes: plan.outcomes, saved: plan.saved, removed: plan.removed, erasures, alreadyDecided: decided.size };
}
