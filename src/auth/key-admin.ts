import { v7 as uuidv7 } from "uuid";
import { safeDelete } from "../cache/read-through.ts";
import type { ApiKeyRow } from "../db/repositories/api-keys.ts";
import { insertApiKey, listApiKeys, revokeApiKey } from "../db/repositories/api-keys.ts";
import { DomainError } from "../lib/errors.ts";
import type { Page } from "../lib/pagination.ts";
import { rowsForPage, toPage } from "../lib/pagination.ts";
import type { Runtime } from "../runtime.ts";
import { apiKeyCacheKey } from "./api-keys.ts";
import { storedFormOf } from "./keys.ts";
import { publishRevocations } from "./revocations.ts";
import type { ApiKey, CreatedApiKey, NewApiKey } from "./schema.ts";
import { mintSignedKey } from "./signed-keys.ts";

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

/**
 * A signed key (src/auth/signed-keys.ts), returned here once and existing nowhere else: only its
 * SHA-256 is stored, for listing, revocation and the lookup of keys the revocation list no longer covers.
 */
export async function createApiKey(rt: Runtime, input: NewApiKey): Promise<CreatedApiKey> {
  const id = uuidv7();
  const scopes = [...new Set(input.scopes)];
  const rateLimit = input.rate_limit ? { limit: input.rate_limit.limit, periodSeconds: input.rate_limit.period_seconds } : null;
  const key = await mintSignedKey(rt.config.apiKeySigningSecret, rt.config.environment, { keyId: id, scopes, rateLimit });
  const row = await insertApiKey(rt.db(), {
    id,
    name: input.name,
    ...(await storedFormOf(key)),
    scopes,
    rateLimit: rateLimit?.limit ?? null,
    ratePeriodSeconds: rateLimit?.periodSeconds ?? null,
  });
  return { ...toApiKeyView(row), key };
}

/** Newest first; the cursor is the last key's id (UUIDv7, so time-ordered). */
export async function listApiKeyPage(rt: Runtime, q: { limit: number; cursor?: string | undefined }): Promise<Page<ApiKey>> {
  const rows = await listApiKeys(rt.reader(), { rows: rowsForPage(q.limit), before: q.cursor });
  return toPage(rows, q.limit, toApiKeyView, (last) => last.id);
}

/**
 * Revoked in Postgres, then published: the revocation list (signed keys) is refreshed here and
 * written to KV, and the cached lookup by hash (keys without a signature) is dropped from the cache
 * store, this location's Cache API and this isolate's memory, so the key stops working here at once.
 * Elsewhere, docs/api.md "Authentication and API keys" states the bound.
 */
export async function revokeKey(rt: Runtime, id: string): Promise<ApiKey> {
  const row = await revokeApiKey(rt.db(), id, new Date());
  if (!row) throw new DomainError("not_found", "No API key has this id.");
  const lookup = apiKeyCacheKey(row.keyHash);
  await Promise.all([publishRevocations(rt), safeDelete(rt, lookup), rt.edge?.delete(lookup)]);
  return toApiKeyView(row);
}
