import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { generateApiKey as mint, storedFormOf } from "../../src/auth/keys.ts";

/** The API's own key format (src/auth/keys.ts). */
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
export async function insertApiKey(url: string, key: string, opts: KeyOptions): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { prefix, keyHash } = await storedFormOf(key);
    await client.query(
      `insert into api_keys (id, name, prefix, key_hash, scopes, rate_limit, rate_period_seconds)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (key_hash) do nothing`,
      [uuidv7(), opts.name, prefix, keyHash, opts.scopes, opts.rateLimit?.limit ?? null, opts.rateLimit?.periodSeconds ?? null],
    );
    const { rows } = await client.query<{ id: string }>("select id from api_keys where key_hash = $1", [keyHash]);
    return rows[0]!.id;
  } finally {
    await client.end();
  }
}
