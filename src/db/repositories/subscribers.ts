import { eq, inArray, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import { subscribers } from "../schema.ts";

export type SubscriberRow = typeof subscribers.$inferSelect;
export type NewSubscriberRow = typeof subscribers.$inferInsert;

const lowerEmail = sql<string>`lower(${subscribers.email})`;

export async function findSubscriberById(db: Database, id: string): Promise<SubscriberRow | undefined> {
  const [row] = await db.select().from(subscribers).where(eq(subscribers.id, id)).limit(1);
  return row;
}

/** Served by the unique index on lower(email). */
export async function findSubscriberByEmail(db: Database, email: string): Promise<SubscriberRow | undefined> {
  const [row] = await db.select().from(subscribers).where(eq(lowerEmail, email.toLowerCase())).limit(1);
  return row;
}

/** Which of these (already lower-cased) emails exist, with their ids: one query for a whole batch. */
export async function findExistingEmails(db: Executor, lowerEmails: string[]): Promise<Map<string, string>> {
  if (lowerEmails.length === 0) return new Map();
  const rows = await db.select({ id: subscribers.id, email: lowerEmail }).from(subscribers).where(inArray(lowerEmail, lowerEmails));
  return new Map(rows.map((r) => [r.email, r.id]));
}

/** One multi-row INSERT. Deliberately no ON CONFLICT: a unique violation is for the caller to resolve. */
export async function insertSubscribers(db: Executor, rows: NewSubscriberRow[]): Promise<SubscriberRow[]> {
  if (rows.length === 0) return [];
  return db.insert(subscribers).values(rows).returning();
}

export async function countSubscribersByStatus(db: Database): Promise<Record<string, number>> {
  const rows = await db.select({ status: subscribers.status, n: sql<number>`count(*)::int` }).from(subscribers).groupBy(subscribers.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
