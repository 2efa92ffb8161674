import { asc, eq, inArray, or, sql } from "drizzle-orm";
import type { Executor, Reader } from "../client.ts";
import { subscribers } from "../schema.ts";

export type SubscriberRow = typeof subscribers.$inferSelect;
export type NewSubscriberRow = typeof subscribers.$inferInsert;

const lowerEmail = sql<string>`lower(${subscribers.email})`;

export async function findSubscriberById(db: Reader, id: string): Promise<SubscriberRow | undefined> {
  const [row] = await db.select().from(subscribers).where(eq(subscribers.id, id)).limit(1);
  return row;
}

/** Served by the unique index on lower(email). */
export async function findSubscriberByEmail(db: Reader, email: string): Promise<SubscriberRow | undefined> {
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

/**
 * The rows a set of changes will touch, by id or by (lower-cased) email, locked until the
 * transaction ends. Locked in id order, so two batches touching the same rows cannot deadlock.
 */
export async function lockSubscribers(tx: Executor, ids: string[], lowerEmails: string[]): Promise<SubscriberRow[]> {
  const conditions = [];
  if (ids.length) conditions.push(inArray(subscribers.id, ids));
  if (lowerEmails.length) conditions.push(inArray(lowerEmail, lowerEmails));
  if (conditions.length === 0) return [];
  return tx
    .select()
    .from(subscribers)
    .where(or(...conditions))
    .orderBy(asc(subscribers.id))
    .for("update");
}

/** Writes a row's changeable state back, as the consumer computed it under the row's lock. */
export async function saveSubscriber(tx: Executor, row: SubscriberRow): Promise<void> {
  await tx
    .update(subscribers)
    .set({
      name: row.name,
      lastName: row.lastName,
      status: row.status,
      updatedAt: row.updatedAt,
      unsubscribedAt: row.unsubscribedAt,
      version: row.version,
      fieldOps: row.fieldOps,
    })
    .where(eq(subscribers.id, row.id));
}

export async function deleteSubscribers(tx: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.delete(subscribers).where(inArray(subscribers.id, ids));
}

export async function findSubscribersByIds(db: Executor, ids: string[]): Promise<SubscriberRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(subscribers).where(inArray(subscribers.id, ids));
}
