import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";

export const ALL_SCOPES = ["subscribers:read", "subscribers:write", "plans:read", "admin"] as const;

/** Same format the API issues (src/auth/key-admin.ts): a recognisable prefix and 32 random bytes, base64url. */
export function generateApiKey(live = true): string {
  return `sk_${live ? "live" : "test"}_${randomBytes(32).toString("base64url")}`;
}

export interface KeyOptions {
  name: string;
  scopes: readonly string[];
  rateLimit?: { limit: number; periodSeconds: number } | undefined;
}

/** Stores only the SHA-256 of the key. Re-running with the same key is a no-op. Returns the row id. */
export async function insertApiKey(url: string, key: string, opts: KeyOptions): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const id = uuidv7();
    await client.query(
      `insert into api_keys (id, name, prefix, key_hash, scopes, rate_limit, rate_period_seconds)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (key_hash) do nothing`,
      [
        id,
        opts.name,
        key.slice(0, 12),
        createHash("sha256").update(key).digest("hex"),
        opts.scopes,
        opts.rateLimit?.limit ?? null,
        opts.rateLimit?.periodSeconds ?? null,
      ],
    );
    return id;
  } finally {
    await client.end();
  }
}
