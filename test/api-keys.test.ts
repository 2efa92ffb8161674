import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect } from "vitest";
import { apiKeyCacheKey } from "../src/auth/api-keys.ts";
import type { ApiKey } from "../src/auth/schema.ts";
import { getConfig } from "../src/config/index.ts";
import { apiKeys } from "../src/db/schema.ts";
import { sha256Hex } from "../src/lib/crypto.ts";
import type { CreatedKey } from "./gateway-helpers.ts";
import { newKey } from "./gateway-helpers.ts";
import { it } from "./harness.ts";
import type { ListBody } from "./helpers.ts";
import { appWith, bearer, call, createTestKey, expectProblem, postJson, waitFor } from "./helpers.ts";

describe("API keys: creation and revocation", () => {
  it("creates a key shown once, stored only as its SHA-256, that works with exactly its scopes", async ({ db, admin }) => {
    const res = await postJson("/v1/admin/api-keys", { name: "partner", scopes: ["subscribers:read"] }, bearer(admin));
    expect(res.status).toBe(201);
    const { data } = await res.json<CreatedKey>();
    expect(res.headers.get("location")).toBe(`/v1/admin/api-keys/${data.id}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    // Signed (src/auth/signed-keys.ts): the MAC, a dot, the payload (id, scopes, rate limit).
    expect(data.key).toMatch(/^sk_test_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{35}$/);
    expect(data.key.startsWith(data.prefix)).toBe(true);
    expect(data).toMatchObject({ scopes: ["subscribers:read"], rate_limit: null, revoked_at: null });

    const [row] = await db.db.select().from(apiKeys).where(eq(apiKeys.id, data.id));
    expect(row?.keyHash).toBe(await sha256Hex(data.key));
    expect(JSON.stringify(row)).not.toContain(data.key);

    expect((await call("/v1/stats", { headers: bearer(data.key) })).status).toBe(200);
    await expectProblem(await postJson("/v1/subscribers", {}, bearer(data.key)), 403, "forbidden");

    const list = await call("/v1/admin/api-keys?limit=100", { headers: bearer(admin) });
    expect(list.status).toBe(200);
    const listed = await list.json<ListBody<ApiKey>>();
    const mine = listed.data.find((k) => k.id === data.id);
    expect(mine).toMatchObject({ name: "partner", prefix: data.prefix });
    expect(mine).not.toHaveProperty("key");
    expect(JSON.stringify(listed)).not.toContain(row?.keyHash);
  });

  it("rejects invalid key requests field by field", async ({ admin }) => {
    const res = await postJson(
      "/v1/admin/api-keys",
      { name: "", scopes: ["root"], rate_limit: { limit: 0, period_seconds: 60 } },
      bearer(admin),
    );
    const body = await expectProblem(res, 422, "validation_failed");
    const fields = (body.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "scopes.0", "rate_limit.limit"]));
  });

  it("a revoked key stops working at once where it was revoked; revoking is idempotent; unknown ids 404", async ({ admin }) => {
    const created = await newKey(admin, { name: "to-revoke", scopes: ["subscribers:read"] });
    // Used once, so its lookup is now cached at the edge.
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    const revoke = await call(`/v1/admin/api-keys/${created.id}`, { method: "DELETE", headers: bearer(admin) });
    expect(revoke.status).toBe(200);
    const revoked = (await revoke.json<CreatedKey>()).data;
    expect(revoked.revoked_at).toBeTruthy();
    await expectProblem(await call("/v1/stats", { headers: bearer(created.key) }), 401, "unauthorized");
    const again = await call(`/v1/admin/api-keys/${created.id}`, { method: "DELETE", headers: bearer(admin) });
    expect((await again.json<CreatedKey>()).data.revoked_at).toBe(revoked.revoked_at);
    await expectProblem(
      await call(`/v1/admin/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(admin) }),
      404,
      "not_found",
    );
  });

  it("a key without a signature revoked elsewhere (only in Postgres) works while its edge copy is fresh; then Postgres says revoked and the copy is deleted", async ({
    db,
  }) => {
    const defaults = getConfig(env).edgeCopies;
    expect(defaults).toMatchObject({ apiKeyFresh: 60, apiKeyHot: 10 });
    // The same bounds, short: fresh for 1 s, remembered by the isolate for 1 s.
    const app = appWith({ API_KEY_CACHE_SECONDS: "1", API_KEY_HOT_SECONDS: "1" });
    // Minted before signed keys (as test/helpers.ts still does): looked up by its hash.
    const key = await createTestKey(db, ["subscribers:read"], "revoked-elsewhere");
    const [stored] = await db.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, await sha256Hex(key)));
    const created = { id: stored!.id, key };
    expect((await app("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    const name = apiKeyCacheKey(await sha256Hex(created.key));
    const [entry] = await waitFor(async () => (await env.CACHE.list({ prefix: name })).keys, 5_000, "the key's edge copy");
    // Kept far longer than it is fresh: the copy that answers while Postgres is down.
    const expiresIn = (entry!.expiration ?? 0) - Date.now() / 1000;
    expect(expiresIn).toBeGreaterThan(defaults.apiKeyStale - 5);
    await db.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, created.id));
    // Still served from the fresh copy: the documented bound, not a bug.
    expect((await app("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    await expectProblem(await app("/v1/stats", { headers: bearer(created.key) }), 401, "unauthorized");
    // Gone from KV too, so no later outage can bring the revoked key back.
    expect((await env.CACHE.list({ prefix: name })).keys).toEqual([]);
  });
});
