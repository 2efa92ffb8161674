import { describe, expect } from "vitest";
import { it } from "./harness.ts";
import { bearer, call, expectProblem, postJson } from "./helpers.ts";

describe("authentication and scopes", () => {
  it("401 problem without a key and with an unknown key, with WWW-Authenticate", async () => {
    const none = await call("/v1/stats");
    await expectProblem(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
    const bad = await call("/v1/stats", { headers: bearer("sk_test_not_a_real_key_0123456789") });
    await expectProblem(bad, 401, "unauthorized");
    const malformed = await call("/v1/stats", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    await expectProblem(malformed, 401, "unauthorized");
  });

  it("403 problem naming the missing scope; admin implies every scope", async ({ admin, reader }) => {
    const res = await postJson("/v1/subscribers", { email: "x@example.com", name: "A", last_name: "B" }, bearer(reader));
    const body = await expectProblem(res, 403, "forbidden");
    expect(body.required_scope).toBe("subscribers:write");
    expect((await call("/v1/stats", { headers: bearer(admin) })).status).toBe(200);
  });

  it("admin routes are a 404 to callers without a valid key and a 403 to keys without the admin scope", async ({ reader }) => {
    for (const headers of [{}, bearer("sk_test_not_a_real_key_0123456789")]) {
      await expectProblem(await call("/v1/admin/api-keys", { headers }), 404, "not_found");
      await expectProblem(await postJson("/v1/admin/api-keys", { name: "x", scopes: ["admin"] }, headers), 404, "not_found");
      await expectProblem(await call(`/v1/admin/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers }), 404, "not_found");
      await expectProblem(await call("/v1/admin/plans/sync", { method: "POST", headers }), 404, "not_found");
      // Not even a 405 gives the path away.
      await expectProblem(await call("/v1/admin/api-keys", { method: "PUT", headers }), 404, "not_found");
    }
    await expectProblem(await call("/v1/admin/api-keys", { headers: bearer(reader) }), 403, "forbidden");
  });
});
