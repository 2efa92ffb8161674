import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";

export const ALL_SCOPES = ["subscribers:read", "subscribers:write", "plans:read", "admin"] as const;

/** Same format the API issues: a recognisable prefix and 32 random bytes, base64url. */
export function generateApiKey(): string {
  return `sk_${randomBytes(32).toString("base64url")}`;
}

/** Stores only the SHA-256 of the key. Re-running with the same key is a no-op. */
export async function insertApiKey(url: string, key: string, name: string, scopes: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `insert into api_keys (id, name, prefix, key_hash, scopes) values ($1, $2, $3, $4, $5)
       on conflict (key_hash) do nothing`,
      [uuidv7(), name, key.slice(0, 10), createHash("sha256").update(key).digest("hex"), scopes],
    );
  } finally {
    await client.end();
  }
}
