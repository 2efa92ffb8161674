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
 * Of these operations, those with a final outcome, with the HMAC of the request that made each: a
 * redelivered message for one of them changes nothing. An `invalid_data` failure is not final for
 * this purpose (see recordOperationOutcomes).
 */
export async function findDecidedOperations(db: Executor, ids: string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: operations.id, requestMac: operations.requestMac })
    .from(operations)
    .where(and(inArray(operations.id, ids), or(isNull(operations.errorCode), ne(operations.errorCode, "invalid_data"))));
  return new Map(rows.map((r) => [r.id, r.requestMac]));
}

/**
 * Holds these keys (a keyed operation's Idempotency-Key) until the transaction ends, in one order,
 * so two consumers with the same key decide one after the other: the second's check for the
 * operation then sees the first's committed row. Check-then-insert, never an upsert.
 */
export async function lockOperationKeys(tx: Executor, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const list = sql.join(
    keys.map((k) => sql`${k}`),
    sql`, `,
  );
  await tx.execute(
    sql`select count(pg_advisory_xact_lock(hashtextextended(k, 24))) from (select k from unnest(array[${list}]::text[]) as k order by k) as keys`,
  );
}

/** The first of these operations Postgres has, any outcome: what a replayed Idempotency-Key answers from. */
export async function findFirstOperation(db: Reader, ids: string[]): Promise<OperationRow | undefined> {
  if (ids.length === 0) return undefined;
  const rows = await db.select().from(operations).where(inArray(operations.id, ids)).orderBy(operations.createdAt).limit(1);
  return rows[0];
}

/** Of these operations, those with any recorded outcome (an `invalid_data` one included). */
export async function findRecordedOperations(db: Reader, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.select({ id: operations.id }).from(operations).where(inArray(operations.id, ids));
  return new Set(rows.map((r) => r.id));
}
