import type { Database, Transaction } from "../db/client.ts";
import { isRefusedByDatabase, isUniqueViolation, pgErrorCode } from "../db/errors.ts";
import type { NewOperationRow } from "../db/repositories/operations.ts";
import { recordOperationOutcomes } from "../db/repositories/operations.ts";
import type { NewSubscriberRow, SubscriberRow } from "../db/repositories/subscribers.ts";
import { findExistingEmails, insertSubscribers } from "../db/repositories/subscribers.ts";
import type { SubscriberCreateMessage } from "../queue/schema.ts";
import { normalizeEmail } from "./model.ts";

type Outcome =
  | { operationId: string; status: "succeeded"; subscriberId: string }
  | { operationId: string; status: "failed"; errorCode: "already_exists"; subscriberId: string };

/** A message whose data Postgres refused: its operation is recorded failed (invalid_data). */
interface Rejected {
  message: SubscriberCreateMessage;
  /** Log-safe: the SQLSTATE, never the data. */
  reason: string;
}

export interface StoreResult {
  outcomes: Outcome[];
  inserted: SubscriberRow[];
  rejected: Rejected[];
  /** Transactions used; more than one means a poison message was searched for. */
  transactions: number;
}

const MAX_CONFLICT_ROUNDS = 3;

/**
 * Stores a batch of creates as a set, isolating poison. The whole batch goes in one transaction
 * (the fast path). If Postgres refuses the set for what it holds (see isRefusedByDatabase),
 * the batch is split in halves and each half tried the same way, down to the single messages that
 * cause it: those are rejected and everything else is stored. One bad message in a batch of 100
 * costs about 2·log2(100) ≈ 14 extra transactions, and only when there is one.
 *
 * A transient error (database unreachable, serialization failure) is thrown: the caller retries the
 * messages. Halves that committed before it are safe to redeliver (see checkThenInsert).
 */
export async function storeSubscriberCreates(db: Database, messages: SubscriberCreateMessage[]): Promise<StoreResult> {
  const result: StoreResult = { outcomes: [], inserted: [], rejected: [], transactions: 0 };
  // A message can arrive twice in one batch (a redelivery beside a replay): one operation, one
  // write. The copies share its fate, which the caller looks up by operation id.
  const unique = [...new Map(messages.map((m) => [m.operation_id, m])).values()];
  await storeIsolating(db, unique, result);
  return result;
}

async function storeIsolating(db: Database, messages: SubscriberCreateMessage[], into: StoreResult): Promise<void> {
  if (messages.length === 0) return;
  try {
    into.transactions++;
    const { outcomes, inserted } = await storeAsOneSet(db, messages);
    into.outcomes.push(...outcomes);
    into.inserted.push(...inserted);
  } catch (err) {
    if (!isRefusedByDatabase(err)) throw err;
    if (messages.length === 1) {
      const message = messages[0]!;
      await recordOperationOutcomes(db, [
        {
          id: message.operation_id,
          kind: "subscriber.create",
          status: "failed",
          subscriberId: message.subscriber.id,
          errorCode: "invalid_data",
        },
      ]);
      into.rejected.push({ message, reason: `database refused the data (SQLSTATE ${pgErrorCode(err)})` });
      return;
    }
    const middle = Math.ceil(messages.length / 2);
    await storeIsolating(db, messages.slice(0, middle), into);
    await storeIsolating(db, messages.slice(middle), into);
  }
}

/**
 * Check-then-insert for a set, as one transaction: one query finds which emails exist, one multi-row
 * INSERT adds the rest, and the outcome of every operation is recorded.
 *
 * Never an upsert. A concurrent consumer can insert the same email between our check and our insert;
 * the unique index on lower(email) then rejects the INSERT, the transaction rolls back, and the next
 * round re-checks and sees that row as existing. A redelivered message finds its own subscriber id
 * already stored and succeeds again without writing anything new.
 */
async function storeAsOneSet(
  db: Database,
  messages: SubscriberCreateMessage[],
): Promise<{ outcomes: Outcome[]; inserted: SubscriberRow[] }> {
  for (let round = 1; ; round++) {
    try {
      return await db.transaction((tx) => checkThenInsert(tx, messages));
    } catch (err) {
      if (!isUniqueViolation(err) || round >= MAX_CONFLICT_ROUNDS) throw err;
    }
  }
}

async function checkThenInsert(
  tx: Transaction,
  messages: SubscriberCreateMessage[],
): Promise<{ outcomes: Outcome[]; inserted: SubscriberRow[] }> {
  const byEmail = new Map<string, SubscriberCreateMessage[]>();
  for (const m of messages) {
    const key = normalizeEmail(m.subscriber.email);
    byEmail.set(key, [...(byEmail.get(key) ?? []), m]);
  }
  const existing = await findExistingEmails(tx, [...byEmail.keys()]);

  const toInsert: NewSubscriberRow[] = [];
  const outcomes: Outcome[] = [];
  for (const [email, group] of byEmail) {
    // The email's owner: already stored, or the first request for it in this set.
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
