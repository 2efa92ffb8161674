import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, vi } from "vitest";
import { createApp } from "../src/http/app.ts";
import { it } from "./harness.ts";
import { appWith, bearer, call, expectProblem, postJson } from "./helpers.ts";

describe("problems for every non-2xx", () => {
  it("404 for an unknown route", async () => {
    const body = await expectProblem(await call("/v1/nothing-here"), 404, "not_found");
    expect(body.instance).toBe("/v1/nothing-here");
  });

  it("405 with Allow for a known path and the wrong method", async ({ admin }) => {
    const res = await call("/v1/stats", { method: "DELETE", headers: bearer(admin) });
    await expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    const sub = await call(`/v1/subscribers/${crypto.randomUUID()}`, { method: "POST" });
    await expectProblem(sub, 405, "method_not_allowed");
    expect(sub.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
  });

  it("413 above the configured body limit, on any route", async ({ admin }) => {
    const fetch = appWith({ MAX_BODY_BYTES: "2048" });
    const res = await fetch("/v1/admin/api-keys", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...bearer(admin) },
      body: JSON.stringify({ name: "x".repeat(3000), scopes: ["admin"] }),
    });
    await expectProblem(res, 413, "payload_too_large");
    const big = await postJson("/v1/subscribers", { email: "a@b.io", name: "x".repeat(20_000), last_name: "B" }, bearer(admin));
    await expectProblem(big, 413, "payload_too_large");
  });

  it("415 for a body that is not JSON", async ({ admin }) => {
    const res = await call("/v1/admin/api-keys", {
      method: "POST",
      headers: { "Content-Type": "text/plain", ...bearer(admin) },
      body: "name=x",
    });
    await expectProblem(res, 415, "unsupported_media_type");
  });

  it("500 without internals", async () => {
    const app = createApp();
    app.get("/boom", () => {
      throw new Error("secret internals: password=hunter2");
    });
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await app.fetch(new Request("http://edge.test/boom"), env, createExecutionContext());
    spy.mockRestore();
    const body = await expectProblem(res, 500, "internal");
    expect(JSON.stringify(body)).not.toContain("hunter2");
  });
});
