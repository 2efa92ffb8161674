import type { Database } from "../db/client.ts";
import { isRefusedByDatabase, isUniqueViolation, pgErrorCode } from "../db/errors.ts";
import { recordOperationOutcomes } from "../db/repositories/operations.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { SubscriberWriteMessage } from "./messages.ts";
import { orderOf, subjectOf } from "./messages.ts";
import { emailHash, normalizeEmail } from "./model.ts";
import { isKeyedId, keyedRoot } from "./operation-id.ts";
import type { Applied, Erasure } from "./set-apply.ts";
import { applySet } from "./set-apply.ts";
import type { Outcome } from "./set-plan.ts";

/**
 * The consumer's side of every subscriber write (creates, updates, deletes and erasures), applied in
 * Postgres as one transaction per set, in the order the edge accepted them. The rules are
 * docs/write-rules.md: SetPlan (set-plan.ts) decides them, applySet (set-apply.ts) runs one set's
 * queries; this file is the frame around them: one operation per id, operation id order, poison
 * isolation and the rounds after a lost race for an address.
 */

/** A message whose data Postgres refused: its operation is recorded failed (invalid_data). */
interface Rejected {
  message: SubscriberWriteMessage;
  /** Log-safe: the SQLSTATE, never the data. */
  reason: string;
}

export interface StoreResult {
  outcomes: Outcome[];
  /** Rows created or changed, as committed. */
  saved: SubscriberRow[];
  /** Subscribers deleted or erased: their cache entries go. */
  removed: Array<{ id: string; email: string }>;
  erasures: Erasure[];
  rejected: Rejected[];
  /** Operations that already had an outcome: redeliveries, acked without any write. */
  alreadyDecided: number;
  /** Messages not applied because their Idempotency-Key was used for another request first (by operation id). */
  conflicts: string[];
  /** Transactions used; more than one means a poison message was searched for. */
  transactions: number;
}

const MAX_CONFLICT_ROUNDS = 3;

/**
 * Applies a batch as a set, isolating poison. The whole batch goes in one transaction (the fast
 * path). If Postgres refuses the set for what it holds (see isRefusedByDatabase), the batch is split
 * in halves and each half tried the same way, down to the single messages that cause it: those are
 * rejected and everything else is applied. One bad message in a batch of 100 costs about
 * 2·log2(100) ≈ 14 extra transactions, and only when there is one.
 *
 * A transient error (database unreachable, serialization failure) is thrown: the caller retries the
 * messages. Halves that committed before it are safe to redeliver: their operations have outcomes.
 */
export async function storeSubscriberWrites(db: Database, hashKey: string, messages: SubscriberWriteMessage[]): Promise<StoreResult> {
  const result: StoreResult = {
    outcomes: [],
    saved: [],
    removed: [],
    erasures: [],
    rejected: [],
    alreadyDecided: 0,
    conflicts: [],
    transactions: 0,
  };
  const { unique, duplicates, conflicts } = oncePerOperation(messages);
  result.alreadyDecided += duplicates;
  result.conflicts.push(...conflicts);
  await storeIsolating(db, hashKey, unique, result);
  return result;
}

/**
 * A message can arrive twice in one batch (a redelivery beside a replay, or one Idempotency-Key
 * accepted in two locations): one operation, one write, the first accepted. Messages of one keyed
 * Idempotency-Key count as one whatever their kind: any but the first that is another request is a
 * conflict. Returned in the order of acceptance.
 */
export function oncePerOperation(messages: readonly SubscriberWriteMessage[]) {
  const first = new Map<string, SubscriberWriteMessage>();
  const ordered = [...messages].sort((a, b) => (orderOf(a) < orderOf(b) ? -1 : orderOf(a) > orderOf(b) ? 1 : 0));
  let duplicates = 0;
  const conflicts: string[] = [];
  for (const m of ordered) {
    const key = isKeyedId(m.operation_id) ? keyedRoot(m.operation_id) : m.operation_id;
    const kept = first.get(key);
    if (!kept) first.set(key, m);
    else if (kept.operation_id === m.operation_id && (kept.request_mac ?? "") === (m.request_mac ?? "")) duplicates++;
    else conflicts.push(m.operation_id);
  }
  return { unique: [...first.values()], duplicates, conflicts };
}

async function storeIsolating(db: Database, hashKey: string, messages: SubscriberWriteMessage[], into: StoreResult): Promise<void> {
  if (messages.length === 0) return;
  try {
    into.transactions++;
    const applied = await applyAsOneSet(db, hashKey, messages);
    into.outcomes.push(...applied.outcomes);
    into.saved.push(...applied.saved.values());
    into.removed.push(...applied.removed);
    into.erasures.push(...applied.erasures);
    into.alreadyDecided += applied.alreadyDecided;
    into.conflicts.push(...applied.conflicts);
  } catch (err) {
    if (!isRefusedByDatabase(err)) throw err;
    if (messages.length === 1) {
      const message = messages[0]!;
      await recordOperationOutcomes(db, [
        {
          id: message.operation_id,
          kind: message.type,
          status: "failed",
          subscriberId: subjectOf(message),
          errorCode: "invalid_data",
          idempotencyKey: message.idempotency_key ?? null,
          requestMac: message.request_mac ?? null,
        },
      ]);
      into.rejected.push({ message, reason: `database refused the data (SQLSTATE ${pgErrorCode(err)})` });
      return;
    }
    const middle = Math.ceil(messages.length / 2);
    await storeIsolating(db, hashKey, messages.slice(0, middle), into);
    await storeIsolating(db, hashKey, messages.slice(middle), into);
  }
}

/**
 * One transaction. A concurrent consumer can insert the same email between our check and our
 * insert; the unique index on lower(email) then rejects the INSERT, the transaction rolls back, and
 * the next round re-checks and sees that row as existing. Deadlocks and serialization failures are
 * transient and go back to the queue.
 */
async function applyAsOneSet(db: Database, hashKey: string, messages: SubscriberWriteMessage[]): Promise<Applied> {
  // Hashing is pure; done once, outside the transaction and its retries.
  const hashes = new Map<string, string>();
  for (const m of messages) {
    const email = m.type === "subscriber.create" ? m.subscriber.email : m.type === "subscriber.forget" ? m.email : undefined;
    if (email) hashes.set(normalizeEmail(email), await emailHash(hashKey, email));
  }
  for (let round = 1; ; round++) {
    try {
      return await db.transaction((tx) => applySet(tx, hashKey, hashes, messages));
    } catch (err) {
      if (!isUniqueViolation(err) || round >= MAX_CONFLICT_ROUNDS) throw err;
    }
  }
}
