import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkReadiness, readinessProbes } from "../src/ops/readiness.ts";
import { createRuntime } from "../src/runtime.ts";
import { call } from "./helpers.ts";

describe("readiness", () => {
  it("reports the last successful plan sync's age and the provider breaker's state", async () => {
    const res = await call("/ready");
    const body = await res.json<{ checks: Record<string, Record<string, unknown>> }>();
    expect(body.checks.provider_breaker).toMatchObject({ ok: true, state: expect.stringMatching(/^(closed|open|half_open|isolated)$/) });
    expect(body.checks.plan_sync).toMatchObject({ ok: true, stale: expect.any(Boolean) });
    expect(body.checks.plan_sync).toHaveProperty("age_seconds");
    expect(body.checks.plan_sync).toHaveProperty("last_success_at");
  });

  it("names every check, and takes extra checks (plan sync age, breaker state) without code changes here", async () => {
    const rt = createRuntime(env);
    try {
      const result = await checkReadiness(rt, {
        ...readinessProbes,
        plan_sync: async () => ({ age_seconds: 12 }),
        breaker: async () => {
          throw new Error("open");
        },
      });
      expect(result.status).toBe("not_ready");
      expect(Object.keys(result.checks).sort()).toEqual(["breaker", "cache", "plan_sync", "postgres", "provider_breaker", "queue"]);
      expect(result.checks.plan_sync).toMatchObject({ ok: true, age_seconds: 12 });
      expect(result.checks.breaker).toMatchObject({ ok: false, error: "Error: open" });
      expect(result.checks.cache).toMatchObject({ ok: true, backend: "kv" });
    } finally {
      await rt.dispose();
    }
  });
});
