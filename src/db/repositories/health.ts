import { sql } from "drizzle-orm";
import type { Reader } from "../client.ts";

export async function pingDatabase(db: Reader): Promise<void> {
  await db.execute(sql`select 1`);
}
