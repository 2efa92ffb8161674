import { lt } from "drizzle-orm";
import type { Database } from "../client.ts";
import { requestRollups } from "../schema.ts";

export async function insertRequestRollups(db: Database, rows: (typeof requestRollups.$inferInsert)[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(requestRollups).values(rows);
}

/** Rollups are for the status page's week and the metrics endpoint; 8 days covers both. */
export async function purgeRequestRollups(db: Database, before: Date): Promise<number> {
  const rows = await db.delete(requestRollups).where(lt(requestRollups.minute, before)).returning({ id: requestRollups.id });
  return rows.length;
}
