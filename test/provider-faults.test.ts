import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { generatePlanDocumentText } from "../scripts/lib/generate-plans.ts";
import { planUuid } from "../src/plans/model.ts";
import sample3 from "./fixtures/provider/sample_3.xml?raw";
import { control, providerFault, setProviderDocuments, testDb } from "./helpers.ts";
import type { Event } from "./plan-helpers.ts";
import { ALL, it, lastReport, search, sync, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));

describe("provider faults", () => {
  const marker = planUuid("503", "900");

  async function searchStillServes() {
    const { status, body } = await search(ALL);
    expect(status).toBe(200);
    expect(body.data.events.map((e: Event) => e.id)).toContain(marker);
  }

  it.for<[string, number, string]>([
    ["503", 502, "unavailable"],
    ["503-empty", 502, "unavailable"],
    ["hang", 502, "unavailable"],
    ["truncated", 502, "bad_response"],
    ["garbage", 502, "bad_response"],
    ["billion-laughs", 502, "bad_response"],
  ])(
    "provider %s: sync answers %i with Retry-After, stored plans untouched, search unaffected",
    async ([mode, status, failure], { admin }) => {
      const db = testDb();
      const count = async () => (await db.db.execute<{ n: number }>("select count(*)::int as n from plans" as never)).rows[0]?.n;
      const before = await count();
      await providerFault(mode);
      const res = await sync(admin);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(res.body.provider_failure).toBe(failure);
      expect(await count()).toBe(before);
      await db.close();
      await searchStillServes();
      expect(await lastReport(admin)).toMatchObject({ outcome: "failed", error: { failure } });
    },
  );

  it("cuts off a document over PROVIDER_MAX_BYTES (4 MiB in tests) while streaming: 502, nothing stored", async ({ admin }) => {
    await control("/provider/generate?plans=2000&zones=30&base=90000");
    // The byte cap is under test, not the body deadline: a slow machine must not reach the deadline first.
    const res = await sync(admin, { PROVIDER_BODY_TIMEOUT_MS: "60000" });
    expect(res.status).toBe(502);
    expect(res.body.provider_failure).toBe("bad_response");
    expect(res.body.detail).toMatch(/larger than 4194304 bytes/);
    const db = testDb();
    const { rows } = await db.db.execute<{ n: number }>(
      "select count(*)::int as n from plans where base_plan_id::int between 90000 and 99999" as never,
    );
    await db.close();
    expect(rows[0]?.n).toBe(0);
    await searchStillServes();
    await setProviderDocuments([sample3]);
  });

  it("opens the circuit breaker after repeated failures (503 + Retry-After, provider left alone), then recovers", async ({ admin }) => {
    await providerFault("503");
    const calls = async () => (await (await fetch(`${env.TEST_CONTROL_URL}/provider/calls`)).json()) as { calls: number };
    expect((await sync(admin)).status).toBe(502); // attempts 1-3
    const open = await sync(admin); // attempts 4-5 open the breaker
    expect([502, 503]).toContain(open.status);
    const before = (await calls()).calls;
    const rejected = await sync(admin);
    expect(rejected.status).toBe(503);
    expect(rejected.body.provider_failure).toBe("circuit_open");
    expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await calls()).calls).toBe(before);
    await searchStillServes();
    await providerFault("none");
    await new Promise((r) => setTimeout(r, 2_100)); // half-open after 2 s in tests
    const recovered = await sync(admin);
    expect(recovered.status).toBe(200);
  });

  it("overlapping syncs do not corrupt data: one runs, the other reports skipped or runs after", async ({ admin }) => {
    await setProviderDocuments([generatePlanDocumentText({ plans: 300, zonesPerPlan: 30, basePlanIdOffset: 70_000, invalidEvery: 50 })]);
    const [a, b] = await Promise.all([sync(admin), sync(admin)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const outcomes = [a.body.data.outcome, b.body.data.outcome].sort();
    expect(outcomes).toContainEqual("ok");
    const db = testDb();
    const { rows } = await db.db.execute<{ plans: number; zones: number; bad: number }>(
      `select count(distinct p.id)::int as plans, count(z.*)::int as zones,
              count(*) filter (where p.min_price > p.max_price or p.zone_count <> 30)::int as bad
         from plans p join zones z on z.plan_id = p.id where p.base_plan_id::int between 70000 and 79999` as never,
    );
    await db.close();
    expect(rows[0]).toEqual({ plans: 294, zones: 294 * 30, bad: 0 });
  });
});
