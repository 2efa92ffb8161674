import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port.ts";
import { migrateDatabase } from "../../scripts/lib/migrate.ts";
import type { LocalPostgres } from "../../scripts/lib/postgres.ts";
import { startPostgres } from "../../scripts/lib/postgres.ts";
import { verifySignedKey } from "../../src/auth/signed-keys.ts";
import { DEVELOPMENT_SIGNING_SECRET } from "../../src/config/schema.ts";

// In the Node-side suite because it needs Node: the script itself and a real Postgres.
const run = promisify(execFile);
let root: string;
let db: LocalPostgres;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "keys-create-"));
  db = await startPostgres({ dataDir: join(root, "pg"), port: await freePort(), database: "keys", persistent: false, quiet: true });
  await migrateDatabase(db.url);
});
afterAll(async () => {
  await db?.stop();
  rmSync(root, { recursive: true, force: true });
});

const keysCreate = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["scripts/keys-create.ts", ...args], { env: { ...process.env, ...env } });

describe("npm run keys:create", () => {
  it("creates a key against DATABASE_URL, prints it once and stores only its SHA-256", async () => {
    const { stdout } = await keysCreate(["--name", "first-admin", "--scopes", "admin", "--rate-limit", "100/60"], { DATABASE_URL: db.url });
    const key = stdout.trim().split("\n").at(-1)!;
    // Signed (src/auth/signed-keys.ts): the MAC, a dot, the payload.
    expect(key).toMatch(/^sk_(live|test)_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{35}$/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        "select name, prefix, key_hash, scopes, rate_limit, rate_period_seconds from api_keys where name = 'first-admin'",
      );
      expect(rows).toEqual([
        {
          name: "first-admin",
          prefix: key.slice(0, 12),
          key_hash: createHash("sha256").update(key).digest("hex"),
          scopes: ["admin"],
          rate_limit: 100,
          rate_period_seconds: 60,
        },
      ]);
      // Signed with the secret a local Worker uses, for this row's id, scopes and limit.
      const { rows: ids } = await client.query<{ id: string }>("select id from api_keys where name = 'first-admin'");
      expect(await verifySignedKey(DEVELOPMENT_SIGNING_SECRET, key)).toEqual({
        keyId: ids[0]!.id,
        scopes: ["admin"],
        rateLimit: { limit: 100, periodSeconds: 60 },
      });
    } finally {
      await client.end();
    }
  });

  it("refuses unknown scopes and a missing DATABASE_URL", async () => {
    await expect(keysCreate(["--name", "x", "--scopes", "root"], { DATABASE_URL: db.url })).rejects.toMatchObject({ code: 2 });
    await expect(keysCreate(["--name", "x"], { DATABASE_URL: "" })).rejects.toMatchObject({ code: 2 });
  });
});
