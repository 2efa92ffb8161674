// Shared by the HTTP gateway tests (authentication, API keys, rate limits, problems, headers, logs).
// Rules: a test takes its database handle and keys from test/harness.ts's `it`; a helper here takes
// the key it uses as its first parameter.
import { expect } from "vitest";
import type { CreatedApiKey } from "../src/auth/schema.ts";
import type { Envelope } from "./helpers.ts";
import { bearer, postJson } from "./helpers.ts";

export type CreatedKey = Envelope<CreatedApiKey>;

/** Creates a key through the admin API with this admin key, as an operator would. */
export async function newKey(admin: string, body: Record<string, unknown>): Promise<CreatedKey["data"]> {
  const res = await postJson("/v1/admin/api-keys", body, bearer(admin));
  expect(res.status).toBe(201);
  return (await res.json<CreatedKey>()).data;
}
