import { and, desc, eq, isNotNull, isNull, lt } from "drizzle-orm";
import type { Database, Reader } from "../client.ts";
import { apiKeys } from "../schema.ts";

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKeyRow = typeof apiKeys.$inferInsert;

export async function findActiveApiKeyByHash(db: Reader, keyHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function insertApiKey(db: Database, row: NewApiKeyRow): Promise<ApiKeyRow> {
  const [inserted] = await db.insert(apiKeys).values(row).returning();
  if (!inserted) throw new Error("insert into api_keys returned no row");
  return inserted;
}

/** Newest first by id (UUIDv7, so time-ordered); `before` is the last id of the previous page. */
export async function listApiKeys(db: Reader, opts: { rows: number; before?: string | undefined }): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(opts.before ? lt(apiKeys.id, opts.before) : undefined)
    .orderBy(desc(apiKeys.id))
    .limit(opts.rows);
}

/** Sets revoked_at once; revoking again keeps the first time. Undefined when the id is unknown. */
export async function revokeApiKey(db: Database, id: string, at: Date): Promise<ApiKeyRow | undefined> {
  const [updated] = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  if (updated) return updated;
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return existing;
}

/** Ids of revoked keys, newest first (UUIDv7 ids sort by creation), at most `rows`. */
export async function listRevokedApiKeyIds(db: Reader, rows: number): Promise<string[]> {
  const found = await db.select({ id: apiKeys.id }).from(apiKeys).where(isNotNull(apiKeys.revokedAt)).orderBy(desc(apiKeys.id)).limit(rows);
  return found.map((r) => r.id);
}
