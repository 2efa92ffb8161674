import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { API_KEY_CACHE_SECONDS, API_KEY_HOT_SECONDS, apiKeyCacheKey } from "../src/auth/api-keys.ts";
import type { ApiKey } from "../src/auth/schema.ts";
import { apiKeys } from "../src/db/schema.ts";
import { isolateMemory } from "../src/isolate-memory.ts";
import { sha256Hex } from "../src/lib/crypto.ts";
import type { CreatedKey } from "./gateway-helpers.ts";
import { admin, db, newKey, useGatewayKeys } from "./gateway-helpers.ts";
import type { ListBody } from "./helpers.ts";
import { bearer, call, expectProblem, postJson } from "./helpers.ts";

useGatewayKeys();

describe("API keys: creation and revocation", () => {
  it("creates a key shown once, stored only as its SHA-256, that works with exactly its scopes", async () => {
    const res = await postJson("/v1/admin/api-keys", { name: "partner", scopes: ["subscribers:read"] }, bearer(admin));
    expect(res.status).toBe(201);
    const { data } = await res.json<CreatedKey>();
    expect(res.headers.get("location")).toBe(`/v1/admin/api-keys/${data.id}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(data.key).toMatch(/^sk_test_[A-Za-z0-9_-]{43}$/);
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

  it("rejects invalid key requests field by field", async () => {
    const res = await postJson(
      "/v1/admin/api-keys",
      { name: "", scopes: ["root"], rate_limit: { limit: 0, period_seconds: 60 } },
      bearer(admin),
    );
    const body = await expectProblem(res, 422, "validation_failed");
    const fields = (body.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "scopes.0", "rate_limit.limit"]));
  });

  it("a revoked key stops working at once where it was revoked; revoking is idempotent; unknown ids 404", async () => {
    const created = await newKey({ name: "to-revoke", scopes: ["subscribers:read"] });
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

  it("a key revoked elsewhere (only in Postgres) works until its cached lookups expire: 60 s in KV, 10 s in isolate memory", async () => {
    const created = await newKey({ name: "revoked-elsewhere", scopes: ["subscribers:read"] });
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    await db.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, created.id));
    // Still served from the cache: the documented bound, not a bug.
    expect((await call("/v1/stats", { headers: bearer(created.key) })).status).toBe(200);
    const { keys } = await env.CACHE.list({ prefix: apiKeyCacheKey(await sha256Hex(created.key)) });
    expect(keys).toHaveLength(1);
    const expiresIn = (keys[0]!.expiration ?? Infinity) - Date.now() / 1000;
    expect(expiresIn).toBeLessThanOrEqual(API_KEY_CACHE_SECONDS + 1);
    expect(API_KEY_HOT_SECONDS).toBeLessThanOrEqual(10);
    // Once the entries are gone (as they will be by then), the revocation is seen.
    await env.CACHE.delete(keys[0]!.name);
    isolateMemory.cacheEntries.delete(`kv:${keys[0]!.name}`);
    await expectProblem(await call("/v1/stats", { headers: bearer(created.key) }), 401, "unauthorized");
  });
});
