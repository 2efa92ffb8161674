import { v7 as uuidv7 } from "uuid";
import { safeDelete } from "../cache/read-through.ts";
import { insertApiKey, listApiKeys, revokeApiKey } from "../db/repositories/api-keys.ts";
import type { ApiKeyRow } from "../db/repositories/api-keys.ts";
import { AppError } from "../http/errors.ts";
import { sha256Hex } from "../lib/crypto.ts";
import type { Runtime } from "../runtime.ts";
import { apiKeyCacheKey } from "./api-keys.ts";
import type { Scope } from "./principal.ts";

/** What admins see of a key; never the key or its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  rate_limit: { limit: number; period_seconds: number } | null;
  created_at: string;
  revoked_at: string | null;
}

export interface NewApiKeyInput {
  name: string;
  scopes: Scope[];
  rate_limit?: { limit: number; period_seconds: number } | undefined;
}

/** Shown as the key's recognisable start ("sk_live_…"), enough to tell keys apart in a list. */
const PREFIX_CHARS = 12;

/**
 * `sk_live_` (production) or `sk_test_` and 32 random bytes in base64url: 256 bits of entropy,
 * so a hash lookup needs no salt or slow KDF.
 */
export function generateApiKey(environment: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
  return `sk_${environment === "production" ? "live" : "test"}_${b64}`;
}

export function toApiKeyView(row: ApiKeyRow): ApiKeyView {
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
export async function createApiKey(rt: Runtime, input: NewApiKeyInput): Promise<ApiKeyView & { key: string }> {
  const key = generateApiKey(rt.config.environment);
  const row = await insertApiKey(rt.db(), {
    id: uuidv7(),
    name: input.name,
    prefix: key.slice(0, PREFIX_CHARS),
    keyHash: await sha256Hex(key),
    scopes: [...new Set(input.scopes)],
    rateLimit: input.rate_limit?.limit ?? null,
    ratePeriodSeconds: input.rate_limit?.period_seconds ?? null,
  });
  return { ...toApiKeyView(row), key };
}

export async function listApiKeyPage(
  rt: Runtime,
  q: { limit: number; cursor?: string | undefined },
): Promise<{ data: ApiKeyView[]; nextCursor: string | null }> {
  const rows = await listApiKeys(rt.db(), { limit: q.limit + 1, before: q.cursor });
  const page = rows.slice(0, q.limit);
  return { data: page.map(toApiKeyView), nextCursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
}

/**
 * Revoked in Postgres, and its cached lookup dropped from this cache store and this isolate's memory,
 * so it stops working here at once; other KV locations and isolates keep their copy for at most
 * API_KEY_CACHE_SECONDS + API_KEY_HOT_SECONDS.
 */
export async function revokeKey(rt: Runtime, id: string): Promise<ApiKeyView> {
  const row = await revokeApiKey(rt.db(), id, new Date());
  if (!row) throw new AppError("not_found", "No API key has this id.");
  await safeDelete(rt.cache, apiKeyCacheKey(row.keyHash));
  return toApiKeyView(row);
}
