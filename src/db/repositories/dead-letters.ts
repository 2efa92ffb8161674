import { and, asc, inArray, isNull, like, lt, sql } from "drizzle-orm";
import type { Database } from "../client.ts";
import { deadLetters } from "../schema.ts";

export type DeadLetterRow = typeof deadLetters.$inferSelect;
export type DeadLetterInput = Pick<typeof deadLetters.$inferInsert, "queue" | "messageId" | "body" | "bodyFormat" | "reason" | "attempts">;

/** Redelivery of the same dead letter must not store it twice, hence the unique message id. */
export async function insertDeadLetters(db: Database, rows: DeadLetterInput[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db
    .insert(deadLetters)
    .values(rows)
    .onConflictDoNothing({ target: deadLetters.messageId })
    .returning({ id: deadLetters.id });
  return inserted.length;
}

/** Not yet replayed, oldest first; `reasonPrefix` narrows to one kind of failure. */
export async function listDeadLetters(db: Database, q: { limit: number; reasonPrefix?: string; ids?: number[] }): Promise<DeadLetterRow[]> {
  return db
    .select()
    .from(deadLetters)
    .where(
      and(
        isNull(deadLetters.replayedAt),
        q.reasonPrefix === undefined ? undefined : like(deadLetters.reason, `${q.reasonPrefix}%`),
        q.ids === undefined ? undefined : inArray(deadLetters.id, q.ids),
      ),
    )
    .orderBy(asc(deadLetters.receivedAt), asc(deadLetters.id))
    .limit(q.limit);
}

export async function markDeadLettersReplayed(db: Database, ids: number[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.update(deadLetters).set({ replayedAt: at }).where(inArray(deadLetters.id, ids));
}

/** Renames the reason so that an automatic redrive stops picking them up; the old reason stays in it. */
export async function markDeadLettersNotReplayable(db: Database, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(deadLetters)
    .set({ reason: sql`'invalid_message: not a subscriber write (was ' || ${deadLetters.reason} || ')'` })
    .where(inArray(deadLetters.id, ids));
}

/** Replayed dead letters are kept for a while as an audit trail, then purged. */
export async function purgeReplayedDeadLetters(db: Database, olderThan: Date): Promise<number> {
  const deleted = await db.delete(deadLetters).where(lt(deadLetters.replayedAt, olderThan)).returning({ id: deadLetters.id });
  return deleted.length;
}
