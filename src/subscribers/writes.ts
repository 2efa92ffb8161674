import type { Database } from "../db/client.ts";
import { isUniqueViolation } from "../db/errors.ts";
import { recordOperationOutcomes } from "../db/repositories/operations.ts";
import type { NewOperationRow } from "../db/repositories/operations.ts";
import { findExistingEmails, insertSubscribers } from "../db/repositories/subscribers.ts";
import type { NewSubscriberRow, SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberCreateMessage } from "../queue/messages.ts";
import { normalizeEmail } from "./model.ts";

export type Outcome =
  | { operationId: string; status: "succeeded"; subscriberId: string }
  | { operationId: string; status: "failed"; errorCode: "already_exists"; subscriberId: string };

export interface StoreResult {
  outcomes: Outcome[];
  inserted: SubscriberRow[];
}

const MAX_CONFLICT_ROUNDS = 3;

/**
 * Check-then-insert for a whole batch, as a set: one query finds which emails exist, one multi-row
 * INSERT adds the rest, and the outcome of every operation is recorded, all in one transaction.
 *
 * Never an upsert. A concurrent consumer can insert the same email between our check and our insert;
 * the unique index on lower(email) then rejects the INSERT, the transaction rolls back, and the next
 * round re-checks and sees that row as existing. A redelivered message finds its own subscriber id
 * already stored and succeeds again without writing anything new.
 */
export async function storeSubscriberCreates(db: Database, messages: SubscriberCreateMessage[]): Promise<StoreResult> {
  for (let round = 1; ; round++) {
    try {
      return await db.transaction((tx) => checkThenInsert(tx, messages));
    } catch (err) {
      if (!isUniqueViolation(err) || round >= MAX_CONFLICT_ROUNDS) throw err;
    }
  }
}

async function checkThenInsert(tx: Parameters<Parameters<Database["transaction"]>[0]>[0], messages: SubscriberCreateMessage[]): Promise<StoreResult> {
  const byEmail = new Map<string, SubscriberCreateMessage[]>();
  for (const m of messages) {
    const key = normalizeEmail(m.subscriber.email);
    byEmail.set(key, [...(byEmail.get(key) ?? []), m]);
  }
  const existing = await findExistingEmails(tx, [...byEmail.keys()]);

  const toInsert: NewSubscriberRow[] = [];
  const outcomes: Outcome[] = [];
  for (const [email, group] of byEmail) {
    // The email's owner: already stored, or the first request for it in this batch.
    const ownerId = existing.get(email) ?? group[0]!.subscriber.id;
    if (!existing.has(email)) {
      const s = group[0]!.subscriber;
      toInsert.push({ id: s.id, email: s.email.trim(), name: s.name, lastName: s.last_name, status: s.status });
    }
    for (const m of group) {
      outcomes.push(
        m.subscriber.id === ownerId
          ? { operationId: m.operation_id, status: "succeeded", subscriberId: ownerId }
          : { operationId: m.operation_id, status: "failed", errorCode: "already_exists", subscriberId: ownerId },
      );
    }
  }

  const inserted = await insertSubscribers(tx, toInsert);
  await recordOperationOutcomes(
    tx,
    outcomes.map(
      (o): NewOperationRow => ({
        id: o.operationId,
        kind: "subscriber.create",
        status: o.status,
        subscriberId: o.subscriberId,
        errorCode: o.status === "failed" ? o.errorCode : null,
      }),
    ),
  );
  return { outcomes, inserted };
}
