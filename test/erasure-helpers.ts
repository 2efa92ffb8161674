// What an erasure test searches: every text, JSON or array column of every table in the public schema.
import { sql } from "drizzle-orm";
import type { DbHandle } from "../src/db/client.ts";

/** Every (table, column) in the public schema whose values are text, JSON or arrays of them. */
async function textColumns(db: DbHandle): Promise<Array<{ table: string; column: string }>> {
  const rows = await db.db.execute<{ table_name: string; column_name: string }>(sql`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public'
      and (data_type in ('text', 'character varying', 'character', 'json', 'jsonb') or data_type = 'ARRAY')`);
  return rows.rows.map((r) => ({ table: r.table_name, column: r.column_name }));
}

export async function rowsMentioning(db: DbHandle, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const { table, column } of await textColumns(db)) {
    const r = await db.db.execute<{ n: number }>(
      sql`select count(*)::int as n from ${sql.identifier(table)} where strpos(lower(${sql.identifier(column)}::text), ${needle.toLowerCase()}) > 0`,
    );
    if ((r.rows[0]?.n ?? 0) > 0) found.push(`${table}.${column}`);
  }
  return found;
}
