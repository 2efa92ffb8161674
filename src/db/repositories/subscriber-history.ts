import { and, inArray, lt, ne, or, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import { deadLetters, operations, subscriberEvents, subscriberTombstones } from "../schema.ts";
import { ERASED_OPERATION } from "./operations.ts";

/**
 * What is kept about subscribers beyond their row: tombstones (so late messages cannot resurrect
 * them), the event outbox, and the erasure of both with everything else that mentions a person.
 */
export type TombstoneRow = typeof subscriberTombstones.$inferSelect;
export type NewTombstoneRow = typeof subscriberTombstones.$inferInsert;
export type NewSubscriberEventRow = typeof subscriberEvents.$inferInsert;

export async function findTombstones(db: Executor, ids: string[], emailHashes: string[]): Promise<TombstoneRow[]> {
  const conditions = [];
  if (ids.length) conditions.push(inArray(subscriberTombstones.subscriberId, ids));
  if (emailHashes.length) conditions.push(inArray(subscriberTombstones.emailHash, emailHashes));
  if (conditions.length === 0) return [];
  return db
    .select()
    .from(subscriberTombstones)
    .where(or(...conditions));
}

/**
 * A tombstone per subscriber: a later erasure of the same subscriber replaces the earlier tombstone
 * (an erasure after a delete keeps `forgotten`, the stronger kind, and the newer operation); of two
 * deletes, the older operation stays (the subscriber was gone from then on in the accepted order).
 */
export async function saveTombstones(tx: Executor, rows: NewTombstoneRow[]): Promise<void> {
  const withId = rows.filter((r) => r.subscriberId);
  const withoutId = rows.filter((r) => !r.subscriberId);
  if (withId.length)
    await tx
      .insert(subscriberTombstones)
      .values(withId)
      .onConflictDoUpdate({
        target: subscriberTombstones.subscriberId,
        set: {
          kind: sql`case when excluded.kind = 'forgotten' then 'forgotten' else ${subscriberTombstones.kind} end`,
          // Two deletes of one subscriber: it was gone from the older one on. An erasure keeps its own (newest) operation.
          operationId: sql`case when excluded.kind = 'deleted' and ${subscriberTombstones.kind} = 'deleted' then least(excluded.operation_id, ${subscriberTombstones.operationId}) else greatest(excluded.operation_id, ${subscriberTombstones.operationId}) end`,
          emailHash: sql`coalesce(excluded.email_hash, ${subscriberTombstones.emailHash})`,
          version: sql`greatest(excluded.version, ${subscriberTombstones.version})`,
        },
      });
  if (withoutId.length) await tx.insert(subscriberTombstones).values(withoutId);
}

export async function purgeTombstones(db: Database, createdBefore: Date): Promise<number> {
  const rows = await db
    .delete(subscriberTombstones)
    .where(lt(subscriberTombstones.createdAt, createdBefore))
    .returning({ id: subscriberTombstones.id });
  return rows.length;
}

export async function insertSubscriberEvents(tx: Executor, rows: NewSubscriberEventRow[]): Promise<void> {
  if (rows.length) await tx.insert(subscriberEvents).values(rows);
}

export interface ErasedRecords {
  /** Operations removed, with the cache keys of their idempotency records, for the cache purge. */
  operations: Array<{ id: string; idempotencyKey: string | null }>;
  deadLetters: number;
}

/**
 * Erases what the database holds about these subscribers beyond their row: their operation records
 * (but `keepOperation`, the erasure's own) are marked erased and lose their subscriber id, the personal data in their earlier events (reduced to id
 * and version, and no longer due to webhooks), and every dead letter whose raw body mentions one of
 * them by id or by address.
 */
export async function eraseSubscriberHistory(
  tx: Executor,
  ids: string[],
  lowerEmails: string[],
  keepOperation: string,
): Promise<ErasedRecords> {
  const erased: ErasedRecords = { operations: [], deadLetters: 0 };
  if (ids.length) {
    // Kept as erased (no subscriber id), so a lookup can tell "erased" from "never existed".
    erased.operations = await tx
      .update(operations)
      .set({ subscriberId: null, errorCode: ERASED_OPERATION })
      .where(and(inArray(operations.subscriberId, ids), ne(operations.id, keepOperation)))
      .returning({ id: operations.id, idempotencyKey: operations.idempotencyKey });
    // Events not yet relayed to webhooks are never sent: only the erasure's own event will be.
    await tx
      .update(subscriberEvents)
      .set({
        data: sql`jsonb_build_object('id', ${subscriberEvents.subscriberId}, 'version', ${subscriberEvents.version})`,
        relayedAt: sql`coalesce(${subscriberEvents.relayedAt}, now())`,
      })
      .where(inArray(subscriberEvents.subscriberId, ids));
  }
  // Bodies are raw text (JSON escapes no ASCII in an address or a UUID), so a substring search finds
  // every mention. Dead letters are few; this scans them, which an erasure can afford.
  const needles = [...ids, ...lowerEmails];
  if (needles.length) {
    const removed = await tx
      .delete(deadLetters)
      .where(or(...needles.map((n) => sql`strpos(lower(${deadLetters.body}), ${n.toLowerCase()}) > 0`)))
      .returning({ id: deadLetters.id });
    erased.deadLetters = removed.length;
  }
  return erased;
}
