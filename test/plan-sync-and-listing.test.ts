import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { generatePlanDocumentText } from "../scripts/lib/generate-plans.ts";
import worker from "../src/index.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import { planUuid } from "../src/plans/model.ts";
import type { Stats } from "../src/stats/schema.ts";
import sample1 from "./fixtures/provider/sample_1.xml?raw";
import sample2 from "./fixtures/provider/sample_2.xml?raw";
import sample3 from "./fixtures/provider/sample_3.xml?raw";
import type { Envelope } from "./helpers.ts";
import { bearer, call, createTestKey, databaseDown, setProviderDocuments, testDb } from "./helpers.ts";
import type { Event, Plan, PlanPage, SearchBody } from "./plan-helpers.ts";
import { ALL, eventsOf, it, lastReport, search, sync } from "./plan-helpers.ts";

// The listing tests run after the sync tests in this file, so they page through the plans those stored.

describe("plan sync over our sample documents", () => {
  const ids = {
    jazz: planUuid("501", "801"),
    midnight900: planUuid("502", "900"),
    midnight901: planUuid("502", "901"),
    orchestra: planUuid("503", "900"),
    winter: planUuid("504", "801"),
  };
  const mine = Object.values(ids);

  it("keeps every plan ever online, latest values winning, and never the offline-only or invalid one", async ({ admin }) => {
    await setProviderDocuments([sample1, sample2, sample3]);
    const first = await sync(admin);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({
      outcome: "ok",
      trigger: "admin",
      counts: { base_plans: 3, plans_seen: 4, online: 4, upserted: 4, invalid: 0 },
    });

    const second = await sync(admin);
    // 501/801 and 503/900 changed, 504/801 has an impossible date, 502 vanished.
    expect(second.body.data.counts).toMatchObject({ plans_seen: 3, upserted: 2, skipped: 0, invalid: 1 });
    expect(second.body.data.invalid_samples[0]).toMatchObject({ basePlanId: "504", planId: "801" });

    const third = await sync(admin);
    expect(third.body.data.counts).toMatchObject({ plans_seen: 3, online: 1, upserted: 2, invalid: 1 });

    const { status, body } = await search(ALL);
    expect(status).toBe(200);
    expect(body.error).toBeNull();
    const got = eventsOf(body, mine);
    expect(got).toEqual([
      {
        id: ids.midnight900,
        title: "Monólogos de medianoche",
        start_date: "2022-03-04",
        start_time: "23:30:00",
        end_date: "2022-03-05",
        end_time: "01:00:00",
        min_price: 12,
        max_price: 12,
      },
      {
        id: ids.midnight901,
        title: "Monólogos de medianoche",
        start_date: "2022-03-11",
        start_time: "23:30:00",
        end_date: "2022-03-12",
        end_time: "01:00:00",
        min_price: 12,
        max_price: 12,
      },
      // Offline in the third document but online before: still returned, with the latest values.
      {
        id: ids.jazz,
        title: "Jazz en el Retiro",
        start_date: "2022-05-14",
        start_time: "19:00:00",
        end_date: "2022-05-14",
        end_time: "21:00:00",
        min_price: 18,
        max_price: 32.5,
      },
      // Zone 5 twice: min/max over both; the price rise in document 3 wins.
      {
        id: ids.orchestra,
        title: "Orquesta de Cámara",
        start_date: "2022-06-20",
        start_time: "20:00:00",
        end_date: "2022-06-20",
        end_time: "22:30:00",
        min_price: 45,
        max_price: 95,
      },
    ]);
    for (const e of got)
      expect(Object.keys(e).sort()).toEqual(["end_date", "end_time", "id", "max_price", "min_price", "start_date", "start_time", "title"]);

    const detail = await call(`/v1/plans/${ids.orchestra}`);
    expect(detail.status).toBe(200);
    const plan = (await detail.json<Envelope<Plan>>()).data;
    expect(plan).toMatchObject({
      base_plan_id: "503",
      plan_id: "900",
      starts_at: "2022-06-20T20:00:00",
      ends_at: "2022-06-20T22:30:00",
      sold_out: false,
      min_price: 45,
      max_price: 95,
    });
    expect(plan.zones).toEqual([
      { zone_id: "5", name: "Patio", capacity: 0, price: 95, numbered: true },
      { zone_id: "5", name: "Patio", capacity: 40, price: 45, numbered: false },
    ]);
    expect((await call(`/v1/plans/${ids.winter}`)).status).toBe(404);

    const keyDb = testDb();
    const reader = await createTestKey(keyDb, ["subscribers:read"], "stats-reader");
    await keyDb.close();
    const stats = (await (await call("/v1/stats", { headers: bearer(reader) })).json<Envelope<Stats>>()).data;
    expect(stats.plans.searchable).toBeGreaterThanOrEqual(4);
    expect(stats.plans.total).toBeGreaterThanOrEqual(stats.plans.searchable);

    const db = testDb();
    const rows = await db.db.execute<{ n: number }>(
      `select count(*)::int as n from plans where base_plan_id in ('501','502','503','504')` as never,
    );
    await db.close();
    expect(rows.rows[0]?.n).toBe(4);
  });

  it("skips all writes when the document is unchanged, and answers 304s with no writes", async ({ admin }) => {
    await setProviderDocuments([sample3]);
    // The stand-in's rotation restarted; the first call may differ from the last applied document.
    await sync(admin);
    const again = await sync(admin);
    // Same ETag: the stand-in answers 304 to our If-None-Match.
    expect(again.body.data).toMatchObject({ outcome: "not_modified", counts: { upserted: 0 } });
    expect((await lastReport(admin)).id).toBe(again.body.data.id);
  });

  it("answers /search from the edge index without touching Postgres", async () => {
    const warm = await search(ALL);
    expect(warm.status).toBe(200);
    const before = warm.body.data.events.length;
    expect(before).toBeGreaterThanOrEqual(4);
    resetIsolateMemory();
    const cold = await databaseDown(() => search(ALL));
    expect(cold.status).toBe(200);
    expect(cold.body.data.events).toHaveLength(before);
  });
});

describe("GET /v1/plans", () => {
  it("pages through plans in start order with keyset cursors, zones included", async () => {
    const seen: Plan[] = [];
    let next: string | null = "/v1/plans?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z&limit=2";
    while (next) {
      const res = await call(next);
      expect(res.status).toBe(200);
      const page = await res.json<PlanPage>();
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data);
      next = page.links.next;
      if (next) expect(page.meta.next_cursor).toEqual(expect.any(String));
    }
    const search = (await (await call("/search?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z")).json<SearchBody>()).data
      .events;
    expect(seen.map((p) => p.id)).toEqual(search.map((e: Event) => e.id));
    expect(seen.every((p) => p.zones.length > 0 && p.min_price <= p.max_price)).toBe(true);
  });

  it("rejects a forged cursor and a bad bound with a 422 problem", async () => {
    for (const q of ["cursor=bm90LWEtY3Vyc29y", "starts_at=2021-02-30T00:00:00Z", "limit=500"]) {
      const res = await call(`/v1/plans?${q}`);
      expect(res.status, q).toBe(422);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });
});

describe("cron trigger", () => {
  it("runs the plan sync on the every-minute schedule", async ({ admin }) => {
    await setProviderDocuments([generatePlanDocumentText({ plans: 5, zonesPerPlan: 2, basePlanIdOffset: 80_000, priceShift: 1 })]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const last = await lastReport(admin);
    expect(last).toMatchObject({ trigger: "cron", outcome: "ok", counts: { plans_seen: 5, upserted: 5 }, index: { stored: true } });
    expect(last.index?.plans).toBeGreaterThanOrEqual(5);
    const { body } = await search("?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z");
    expect(body.data.events.map((e: Event) => e.id)).toContain(planUuid("80000", "0"));
  });
});
