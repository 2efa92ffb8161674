import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../client.ts";
import { apiKeys } from "../schema.ts";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function findActiveApiKeyByHash(db: Database, keyHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}
