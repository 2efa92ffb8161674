import { eq, lt } from "drizzle-orm";
import type { Database } from "../client.ts";
import { operations } from "../schema.ts";

export type OperationRow = typeof operations.$inferSelect;
export type NewOperationRow = typeof operations.$inferInsert;

/** The first recorded outcome wins: a redelivered message must not rewrite history. */
export async function recordOperationOutcomes(db: Pick<Database, "insert">, rows: NewOperationRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(operations).values(rows).onConflictDoNothing({ target: operations.id });
}

export async function findOperation(db: Database, id: string): Promise<OperationRow | undefined> {
  const [row] = await db.select().from(operations).where(eq(operations.id, id)).limit(1);
  return row;
}

export async function purgeOperations(db: Database, completedBefore: Date): Promise<number> {
  const rows = await db.delete(operations).where(lt(operations.completedAt, completedBefore)).returning({ id: operations.id });
  return rows.length;
}
