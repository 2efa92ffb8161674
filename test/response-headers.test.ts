import { describe, expect } from "vitest";
import { it } from "./harness.ts";
import type { Problem } from "./helpers.ts";
import { appWith, bearer, call } from "./helpers.ts";

describe("middleware chain", () => {
  it("echoes a well-formed X-Request-Id on successes and problems alike", async () => {
    for (const path of ["/health", "/v1/stats", "/nope"]) {
      const res = await call(path, { headers: { "X-Request-Id": "trace-42" } });
      expect(res.headers.get("x-request-id")).toBe("trace-42");
    }
    const body = await (await call("/nope", { headers: { "X-Request-Id": "trace-43" } })).json<Problem>();
    expect(body.request_id).toBe("trace-43");
  });

  it("sets secure headers and Server-Timing", async ({ admin }) => {
    const res = await call("/v1/stats", { headers: bearer(admin) });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    expect(res.headers.get("strict-transport-security")).toBeTruthy();
    expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
    expect(res.headers.get("server-timing")).toMatch(/cache;desc="?(hit|miss)/);
  });

  it("CORS: preflight allowed for any origin by default, exposing the headers clients need", async () => {
    const res = await call("/v1/subscribers", {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const get = await call("/health", { headers: { Origin: "https://app.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
    expect(get.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });

  it("CORS: only the configured origins when CORS_ORIGINS lists them", async () => {
    const fetch = appWith({ CORS_ORIGINS: "https://a.example, https://b.example" });
    const ok = await fetch("/health", { headers: { Origin: "https://b.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://b.example");
    expect(ok.headers.get("vary")).toMatch(/origin/i);
    const other = await fetch("/health", { headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // Without Origin (not a browser) no CORS headers, but the answer still varies by Origin.
    const server = await fetch("/health");
    expect(server.status).toBe(200);
    expect(server.headers.get("access-control-allow-origin")).toBeNull();
    expect(server.headers.get("vary")).toMatch(/origin/i);
  });
});
