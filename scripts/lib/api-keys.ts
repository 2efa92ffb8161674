import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { generateApiKey as mint, storedFormOf } from "../../src/auth/keys.ts";
import type { Scope } from "../../src/auth/principal.ts";
import { mintSignedKey } from "../../src/auth/signed-keys.ts";

/** A key without a signature (src/auth/keys.ts): the dev stack, the bench and the tests seed these. */
export const generateApiKey = (live = true): string => mint(live ? "production" : "test");

export interface KeyOptions {
  name: string;
  scopes: readonly string[];
  rateLimit?: { limit: number; periodSeconds: number } | undefined;
}

/**
 * Stores only the SHA-256 of the key, from Node (pg, not the Worker's driver). Re-running with the
 * same key is a no-op. Returns the key's row id, whether this call or an earlier one stored it.
 */
export async function insertApiKey(url: string, key: string, opts: KeyOptions, id: string = uuidv7()): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { prefix, keyHash } = await storedFormOf(key);
    await client.query(
      `insert into api_keys (id, name, prefix, key_hash, scopes, rate_limit, rate_period_seconds)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (key_hash) do nothing`,
      [id, opts.name, prefix, keyHash, opts.scopes, opts.rateLimit?.limit ?? null, opts.rateLimit?.periodSeconds ?? null],
    );
    const { rows } = await client.query<{ id: string }>("select id from api_keys where key_hash = $1", [keyHash]);
    return rows[0]!.id;
  } finally {
    await client.end();
  }
}

/**
 * A signed key (src/auth/signed-keys.ts), as the admin API mints them: signed with the Worker's
 * API_KEY_SIGNING_SECRET for this id, scopes and rate limit, then stored like any key (its SHA-256).
 */
export async function createSignedApiKey(
  url: string,
  secret: string,
  live: boolean,
  opts: KeyOptions & { scopes: readonly Scope[] },
): Promise<{ id: string; key: string }> {
  const id = uuidv7();
  const key = await mintSignedKey(secret, live ? "production" : "test", {
    keyId: id,
    scopes: [...new Set(opts.scopes)],
    rateLimit: opts.rateLimit ?? null,
  });
  return { id: await insertApiKey(url, key, opts, id), key };
}
