import type { SQL } from "drizzle-orm";
import { and, asc, desc, eq, gt, gte, lt, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Reader } from "../client.ts";
import { subscribers } from "../schema.ts";
import type { SubscriberRow } from "./subscribers.ts";

/** The two orders a list can have, each newest first with the id breaking ties. */
export const LIST_SORTS = ["created_at", "updated_at"] as const;
export type ListSort = (typeof LIST_SORTS)[number];

const sortColumn = { created_at: subscribers.createdAt, updated_at: subscribers.updatedAt } as const;
const lowerEmail = sql<string>`lower(${subscribers.email})`;

export interface ListQuery {
  sort: ListSort;
  status: SubscriberRow["status"] | undefined;
  /** Exact, case-insensitive: at most one row (the unique index on lower(email)). */
  email: string | undefined;
  /** Exclusive bounds on created_at. */
  createdAfter: Date | undefined;
  createdBefore: Date | undefined;
  /** Inclusive bound on updated_at. */
  updatedSince: Date | undefined;
  /** How many rows to fetch (a page and one more: src/lib/pagination.ts). */
  rows: number;
  /**
   * Keyset position on (sort column, id): `older` fetches the rows after it in list order (next
   * page), `newer` the rows before it (previous page), nearest the position first.
   */
  from: { direction: "older" | "newer"; at: Date; id: string } | undefined;
}

/** The columns the conditions read: the table's own, or the same columns of a subquery on it. */
type Columns = Record<"id" | "status" | "createdAt" | "updatedAt", AnyPgColumn>;

/** Every condition but the email, on the table or on the email's one-row subquery. */
function conditions(t: Columns, q: ListQuery): SQL | undefined {
  const col = q.sort === "created_at" ? t.createdAt : t.updatedAt;
  const where: SQL[] = [];
  if (q.status) where.push(eq(t.status, q.status));
  if (q.createdAfter) where.push(gt(t.createdAt, q.createdAfter));
  if (q.createdBefore) where.push(lt(t.createdAt, q.createdBefore));
  if (q.updatedSince) where.push(gte(t.updatedAt, q.updatedSince));
  if (q.from) {
    const at = sql.param(q.from.at, col);
    const id = sql.param(q.from.id, t.id);
    where.push(q.from.direction === "newer" ? sql`(${col}, ${t.id}) > (${at}, ${id})` : sql`(${col}, ${t.id}) < (${at}, ${id})`);
  }
  return where.length ? and(...where) : undefined;
}

/**
 * The list as one statement, exported so tests can EXPLAIN exactly what runs.
 *
 * Newest first: `ORDER BY <sort> DESC, id DESC` (Postgres' DESC is NULLS FIRST, exactly the indexes'
 * declaration in src/db/schema.ts), so (sort, id) or (status, sort, id) hands rows over in order and
 * the scan stops after `rows`. The keyset condition is a row comparison, `(sort, id) < ($1, $2)`,
 * which the index seeks to; a previous page compares `>` and reads the same index backwards
 * (ORDER BY ASC, ASC), and the caller reverses those rows. Bounds on the sort column narrow the same
 * scan; a bound on the other timestamp is a filter on the rows it reads.
 *
 * An email matches at most one row: a subquery finds it through the unique index on lower(email)
 * (its LIMIT keeps the other conditions out of it, so no other index can look cheaper on a small
 * table), and the other conditions only decide whether that row is in the page. No ORDER BY, so no
 * sort of that single row either.
 */
export function listSubscribersQuery(db: Reader, q: ListQuery) {
  if (q.email !== undefined) {
    const one = db.select().from(subscribers).where(eq(lowerEmail, q.email.toLowerCase())).limit(1).as("one");
    return db.select().from(one).where(conditions(one, q)).limit(q.rows);
  }
  const col = sortColumn[q.sort];
  const order = q.from?.direction === "newer" ? [asc(col), asc(subscribers.id)] : [desc(col), desc(subscribers.id)];
  return db
    .select()
    .from(subscribers)
    .where(conditions(subscribers, q))
    .orderBy(...order)
    .limit(q.rows);
}

/** The rows of one page and the one after it, in the direction walked (see listSubscribersQuery). */
export async function listSubscribers(db: Reader, q: ListQuery): Promise<SubscriberRow[]> {
  return listSubscribersQuery(db, q);
}

/**
 * The database's snapshot, as text: what a cached list page is keyed by. Two statements that see the
 * same snapshot see the same committed rows, and every commit makes a new one, so a page read under
 * it can be served to anyone who sees it again. Nothing is written for it (no hot row or key), at the
 * price that any commit, not only a subscriber's, moves it.
 */
export async function listGeneration(db: Reader): Promise<string> {
  const rows = await db.execute<{ s: string }>(sql`select pg_current_snapshot()::text as s`);
  return String(rows.rows[0]?.s);
}
