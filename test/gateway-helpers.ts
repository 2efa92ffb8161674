// Shared by the HTTP gateway tests (authentication, API keys, rate limits, problems, headers, logs).
import { afterAll, beforeAll, expect } from "vitest";
import type { CreatedApiKey } from "../src/auth/schema.ts";
import type { DbHandle } from "../src/db/client.ts";
import type { Envelope } from "./helpers.ts";
import { bearer, createTestKey, postJson, testDb } from "./helpers.ts";

export type CreatedKey = Envelope<CreatedApiKey>;

/**
 * The file's database handle and its two keys. They are live bindings set by useGatewayKeys():
 * `db` when it is called, the keys in its beforeAll, so read them inside tests, never at import.
 */
export let db: DbHandle;
export let admin: string;
export let reader: string;

/** Opens the handle, creates an admin and a subscribers:read key before the file's tests, closes the handle after. */
export function useGatewayKeys(): void {
  db = testDb();
  afterAll(() => db.close());
  beforeAll(async () => {
    admin = await createTestKey(db, ["admin"], "gateway-admin");
    reader = await createTestKey(db, ["subscribers:read"], "gateway-reader");
  });
}

/** Creates a key through the admin API, as an operator would. */
export async function newKey(body: Record<string, unknown>): Promise<CreatedKey["data"]> {
  const res = await postJson("/v1/admin/api-keys", body, bearer(admin));
  expect(res.status).toBe(201);
  return (await res.json<CreatedKey>()).data;
}
