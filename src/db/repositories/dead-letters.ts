import { and, isNull, lt } from "drizzle-orm";
import type { Database } from "../client.ts";
import { deadLetters } from "../schema.ts";

export interface DeadLetterInput {
  queue: string;
  messageId: string;
  body: unknown;
  reason: string;
  attempts: number;
}

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

export async function listDeadLetters(db: Database, limit = 100) {
  return db.select().from(deadLetters).where(isNull(deadLetters.replayedAt)).orderBy(deadLetters.receivedAt).limit(limit);
}

/** Replayed dead letters are kept for a while as an audit trail, then purged. */
export async function purgeReplayedDeadLetters(db: Database, olderThan: Date): Promise<number> {
  const deleted = await db
    .delete(deadLetters)
    .where(and(lt(deadLetters.replayedAt, olderThan)))
    .returning({ id: deadLetters.id });
  return deleted.length;
}
