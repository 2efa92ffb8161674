import { v7 as uuidv7 } from "uuid";
import { safeDelete } from "../cache/read-through.ts";
import type { ApiKeyRow } from "../db/repositories/api-keys.ts";
import { insertApiKey, listApiKeys, revokeApiKey } from "../db/repositories/api-keys.ts";
import { DomainError } from "../lib/errors.ts";
import type { Page } from "../lib/pagination.ts";
import { rowsForPage, toPage } from "../lib/pagination.ts";
import type { Runtime } from "../runtime.ts";
import { apiKeyCacheKey } from "./api-keys.ts";
import { generateApiKey, storedFormOf } from "./keys.ts";
import type { ApiKey, CreatedApiKey, NewApiKey } from "./schema.ts";

function toApiKeyView(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    rate_limit: row.rateLimit && row.ratePeriodSeconds ? { limit: row.rateLimit, period_seconds: row.ratePeriodSeconds } : null,
    created_at: row.createdAt.toISOString(),
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}

/** The key itself is returned here once and exists nowhere else: only its SHA-256 is stored. */
export async function createApiKey(rt: Runtime, input: NewApiKey): Promise<CreatedApiKey> {
  const key = generateApiKey(rt.config.environment);
  const row = await insertApiKey(rt.db(), {
    id: uuidv7(),
    name: input.name,
    ...(await storedFormOf(key)),
    scopes: [...new Set(input.scopes)],
    rateLimit: input.rate_limit?.limit ?? null,
    ratePeriodSeconds: input.rate_limit?.period_seconds ?? null,
  });
  return { ...toApiKeyView(row), key };
}

/** Newest first; the cursor is the last key's id (UUIDv7, so time-ordered). */
export async function listApiKeyPage(rt: Runtime, q: { limit: number; cursor?: string | undefined }): Promise<Page<ApiKey>> {
  const rows = await listApiKeys(rt.reader(), { rows: rowsForPage(q.limit), before: q.cursor });
  return toPage(rows, q.limit, toApiKeyView, (last) => last.id);
}

/**
 * Revoked in Postgres, and its cached lookup dropped from this cache store and this isolate's memory,
 * so it stops working here at once; other KV locations and isolates keep their copy for at most
 * API_KEY_CACHE_SECONDS + API_KEY_HOT_SECONDS.
 */
export async function revokeKey(rt: Runtime, id: string): Promise<ApiKey> {
  const row = await revokeApiKey(rt.db(), id, new Date());
  if (!row) throw new DomainError("not_found", "No API key has this id.");
  await safeDelete(rt, apiKeyCacheKey(row.keyHash));
  return toApiKeyView(row);
}
