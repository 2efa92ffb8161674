import { and, eq, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { Database, Executor, Reader } from "../client.ts";
import { operations } from "../schema.ts";

export type OperationRow = typeof operations.$inferSelect;
export type NewOperationRow = typeof operations.$inferInsert;

/**
 * The first recorded outcome wins: a redelivered message must not rewrite history. The one exception
 * is an `invalid_data` failure, which a replayed dead letter may turn into its new outcome (an
 * operator replays after fixing what made the database refuse it).
 */
export async function recordOperationOutcomes(db: Executor, rows: NewOperationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(operations)
    .values(rows)
    .onConflictDoUpdate({
      target: operations.id,
      set: {
        status: sql`excluded.status`,
        subscriberId: sql`excluded.subscriber_id`,
        errorCode: sql`excluded.error_code`,
        version: sql`excluded.version`,
        completedAt: sql`excluded.completed_at`,
      },
      setWhere: sql`${operations.errorCode} = 'invalid_data'`,
    });
}

/**
 * An operation erased with its subscriber keeps its row, with no subscriber id and this error code,
 * until the 30-day purge (the tombstone's lifetime): so a lookup answers "erased", not "never
 * existed", and a redelivered message for it is already decided. The row holds no personal data.
 */
export const ERASED_OPERATION = "erased";
export const isErasedOperation = (row: Pick<OperationRow, "errorCode">) => row.errorCode === ERASED_OPERATION;

export async function findOperation(db: Reader, id: string): Promise<OperationRow | undefined> {
  const [row] = await db.select().from(operations).where(eq(operations.id, id)).limit(1);
  return row;
}

export async function purgeOperations(db: Database, completedBefore: Date): Promise<number> {
  const rows = await db.delete(operations).where(lt(operations.completedAt, completedBefore)).returning({ id: operations.id });
  return rows.length;
}

/**
 * Of these operations, those with a final outcome: a redelivered message for one of them changes
 * nothing. An `invalid_data` failure is not final for this purpose (see recordOperationOutcomes).
 */
export async function findDecidedOperations(db: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: operations.id })
    .from(operations)
    .where(and(inArray(operations.id, ids), or(isNull(operations.errorCode), ne(operations.errorCode, "invalid_data"))));
  return new Set(rows.map((r) => r.id));
}

/** Of these operations, those with any recorded outcome (an `invalid_data` one included). */
export async function findRecordedOperations(db: Reader, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.select({ id: operations.id }).from(operations).where(inArray(operations.id, ids));
  return new Set(rows.map((r) => r.id));
}
