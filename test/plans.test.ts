import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generatePlanDocumentText } from "../scripts/lib/generate-plans.ts";
import worker from "../src/index.ts";
import { planUuid } from "../src/plans/model.ts";
import { resetIsolateMemory } from "../src/isolate-memory.ts";
import sample1 from "./fixtures/provider/sample_1.xml?raw";
import sample2 from "./fixtures/provider/sample_2.xml?raw";
import sample3 from "./fixtures/provider/sample_3.xml?raw";
import { bearer, call, control, createTestKey, databaseDown, providerFault, setProviderDocuments, testDb } from "./helpers.ts";

type Event = { id: string; title: string; start_date: string; start_time: string; end_date: string; end_time: string; min_price: number; max_price: number };

type Report = {
  id: string;
  trigger: string;
  outcome: string;
  counts: Record<string, number>;
  invalid_samples: Array<{ basePlanId: string | null; planId: string | null; reason: string }>;
  index: { plans: number; bytes: number; stored: boolean } | null;
  error: { failure: string; message: string } | null;
};
/** A sync's 200 envelope or its problem body (502/503). */
type SyncBody = { data: Report; provider_failure?: string; detail?: string };
type SearchBody = { data: { events: Event[] }; error: unknown };
type Zone = { zone_id: string; name: string; capacity: number; price: number; numbered: boolean };
type Plan = { id: string; base_plan_id: string; plan_id: string; min_price: number; max_price: number; zones: Zone[] };
type PlanPage = { data: Plan[]; meta: { next_cursor: string | null }; links: { next: string | null } };

const lastReport = async (): Promise<Report> => ((await (await call("/v1/admin/plans/sync", { headers: bearer(admin) })).json()) as { data: Report }).data;

let admin: string;

beforeAll(async () => {
  const db = testDb();
  admin = await createTestKey(db, ["admin"], "plans-admin");
  await db.close();
});

beforeEach(async () => {
  await providerFault("none");
  // Let an open breaker from an earlier fault test half-open again.
  await env.CACHE.delete("provider:breaker:v1");
});

afterAll(async () => {
  await providerFault("none");
});

async function sync(): Promise<{ status: number; body: SyncBody; headers: Headers }> {
  const res = await call("/v1/admin/plans/sync", { method: "POST", headers: bearer(admin) });
  return { status: res.status, body: await res.json<SyncBody>(), headers: res.headers };
}

async function search(query: string): Promise<{ status: number; body: SearchBody; res: Response }> {
  const res = await call(`/search${query}`);
  return { status: res.status, body: await res.json<SearchBody>(), res };
}

const ALL = "?starts_at=2000-01-01T00:00:00Z&ends_at=2100-01-01T00:00:00Z";
const eventsOf = (body: { data: { events: Event[] } }, ids: string[]) => body.data.events.filter((e) => ids.includes(e.id));

describe("plan sync over our sample documents", () => {
  const ids = {
    jazz: planUuid("501", "801"),
    midnight900: planUuid("502", "900"),
    midnight901: planUuid("502", "901"),
    orchestra: planUuid("503", "900"),
    winter: planUuid("504", "801"),
  };
  const mine = Object.values(ids);

  it("keeps every plan ever online, latest values winning, and never the offline-only or invalid one", async () => {
    await setProviderDocuments([sample1, sample2, sample3]);
    const first = await sync();
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ outcome: "ok", trigger: "admin", counts: { base_plans: 3, plans_seen: 4, online: 4, upserted: 4, invalid: 0 } });

    const second = await sync();
    // 501/801 and 503/900 changed, 504/801 has an impossible date, 502 vanished.
    expect(second.body.data.counts).toMatchObject({ plans_seen: 3, upserted: 2, skipped: 0, invalid: 1 });
    expect(second.body.data.invalid_samples[0]).toMatchObject({ basePlanId: "504", planId: "801" });

    const third = await sync();
    expect(third.body.data.counts).toMatchObject({ plans_seen: 3, online: 1, upserted: 2, invalid: 1 });

    const { status, body } = await search(ALL);
    expect(status).toBe(200);
    expect(body.error).toBeNull();
    const got = eventsOf(body, mine);
    expect(got).toEqual([
      { id: ids.midnight900, title: "Monólogos de medianoche", start_date: "2022-03-04", start_time: "23:30:00", end_date: "2022-03-05", end_time: "01:00:00", min_price: 12, max_price: 12 },
      { id: ids.midnight901, title: "Monólogos de medianoche", start_date: "2022-03-11", start_time: "23:30:00", end_date: "2022-03-12", end_time: "01:00:00", min_price: 12, max_price: 12 },
      // Offline in the third document but online before: still returned, with the latest values.
      { id: ids.jazz, title: "Jazz en el Retiro", start_date: "2022-05-14", start_time: "19:00:00", end_date: "2022-05-14", end_time: "21:00:00", min_price: 18, max_price: 32.5 },
      // Zone 5 twice: min/max over both; the price rise in document 3 wins.
      { id: ids.orchestra, title: "Orquesta de Cámara", start_date: "2022-06-20", start_time: "20:00:00", end_date: "2022-06-20", end_time: "22:30:00", min_price: 45, max_price: 95 },
    ]);
    for (const e of got) expect(Object.keys(e).sort()).toEqual(["end_date", "end_time", "id", "max_price", "min_price", "start_date", "start_time", "title"]);

    const detail = await call(`/v1/plans/${ids.orchestra}`);
    expect(detail.status).toBe(200);
    const plan = (await detail.json<{ data: Plan }>()).data;
    expect(plan).toMatchObject({ base_plan_id: "503", plan_id: "900", starts_at: "2022-06-20T20:00:00", ends_at: "2022-06-20T22:30:00", sold_out: false, min_price: 45, max_price: 95 });
    expect(plan.zones).toEqual([
      { zone_id: "5", name: "Patio", capacity: 0, price: 95, numbered: true },
      { zone_id: "5", name: "Patio", capacity: 40, price: 45, numbered: false },
    ]);
    expect((await call(`/v1/plans/${ids.winter}`)).status).toBe(404);

    const keyDb = testDb();
    const reader = await createTestKey(keyDb, ["subscribers:read"], "stats-reader");
    await keyDb.close();
    const stats = (await (await call("/v1/stats", { headers: bearer(reader) })).json<{ data: { plans: { total: number; searchable: number } } }>()).data;
    expect(stats.plans.searchable).toBeGreaterThanOrEqual(4);
    expect(stats.plans.total).toBeGreaterThanOrEqual(stats.plans.searchable);

    const db = testDb();
    const rows = await db.db.execute<{ n: number }>(`select count(*)::int as n from plans where base_plan_id in ('501','502','503','504')` as never);
    await db.close();
    expect(rows.rows[0]?.n).toBe(4);
  });

  it("skips all writes when the document is unchanged, and answers 304s with no writes", async () => {
    await setProviderDocuments([sample3]);
    // The stand-in's rotation restarted; the first call may differ from the last applied document.
    await sync();
    const again = await sync();
    // Same ETag: the stand-in answers 304 to our If-None-Match.
    expect(again.body.data).toMatchObject({ outcome: "not_modified", counts: { upserted: 0 } });
    expect((await lastReport()).id).toBe(again.body.data.id);
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
    const search = (await (await call("/search?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z")).json<SearchBody>()).data.events;
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

describe("GET /search contract", () => {
  const orchestra = planUuid("503", "900");

  it("is inclusive at both ends and compares as UTC (offsets converted)", async () => {
    const exact = await search("?starts_at=2022-06-20T20:00:00&ends_at=2022-06-20T22:30:00");
    expect(exact.body.data.events.map((e: Event) => e.id)).toContain(orchestra);
    const withOffset = await search("?starts_at=2022-06-20T22:00:00%2B02:00&ends_at=2022-06-21T00:30:00%2B02:00");
    expect(withOffset.body.data.events.map((e: Event) => e.id)).toContain(orchestra);
    const oneSecondShort = await search("?starts_at=2022-06-20T20:00:00Z&ends_at=2022-06-20T22:29:59Z");
    expect(oneSecondShort.body.data.events.map((e: Event) => e.id)).not.toContain(orchestra);
    const startsLate = await search("?starts_at=2022-06-20T20:00:00.001Z&ends_at=2022-06-21T00:00:00Z");
    expect(startsLate.body.data.events.map((e: Event) => e.id)).not.toContain(orchestra);
  });

  it("treats a missing bound as unbounded", async () => {
    const onlyStart = await search("?starts_at=2022-06-20T00:00:00Z");
    expect(onlyStart.body.data.events.map((e: Event) => e.id)).toContain(orchestra);
    expect(onlyStart.body.data.events.every((e: Event) => `${e.start_date}T${e.start_time}` >= "2022-06-20T00:00:00")).toBe(true);
    const onlyEnd = await search("?ends_at=2022-03-06T00:00:00Z");
    expect(onlyEnd.body.data.events.every((e: Event) => `${e.end_date}T${e.end_time}` <= "2022-03-06T00:00:00")).toBe(true);
    const none = await search("");
    expect(none.status).toBe(200);
    expect(none.body.data.events.length).toBeGreaterThanOrEqual(onlyStart.body.data.events.length);
  });

  it.each([
    ["?starts_at=yesterday", "invalid_starts_at"],
    ["?starts_at=2021-09-31T00:00:00Z", "invalid_starts_at"],
    ["?ends_at=2021-06-30T25:00:00Z", "invalid_ends_at"],
    ["?starts_at=2022-01-02T00:00:00Z&ends_at=2022-01-01T00:00:00Z", "invalid_range"],
    ["?starts_at=2022-01-01T00:00:00Z&starts_at=2022-01-02T00:00:00Z", "invalid_parameter"],
  ])("answers 400 with the Fever error envelope for %s", async (query, code) => {
    const { status, body, res } = await search(query);
    expect(status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(body).toEqual({ error: { code, message: expect.any(String) }, data: null });
  });

  it("answers 500 with the envelope and Retry-After when neither the index nor Postgres is available", async () => {
    await env.CACHE.delete("plans:index:v1");
    resetIsolateMemory();
    const { status, body, res } = await databaseDown(() => search(ALL));
    expect(status).toBe(500);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(body).toEqual({ error: { code: "unavailable", message: expect.any(String) }, data: null });
    // Cold index but Postgres up: answered from the database.
    const fromDb = await search(ALL);
    expect(fromDb.status).toBe(200);
    expect(fromDb.body.data.events.map((e: Event) => e.id)).toContain(orchestra);
  });
});

describe("provider faults", () => {
  const marker = planUuid("503", "900");

  async function searchStillServes() {
    const { status, body } = await search(ALL);
    expect(status).toBe(200);
    expect(body.data.events.map((e: Event) => e.id)).toContain(marker);
  }

  it.each([
    ["503", 502, "unavailable"],
    ["503-empty", 502, "unavailable"],
    ["hang", 502, "unavailable"],
    ["truncated", 502, "bad_response"],
    ["garbage", 502, "bad_response"],
    ["billion-laughs", 502, "bad_response"],
  ])("provider %s: sync answers %i with Retry-After, stored plans untouched, search unaffected", async (mode, status, failure) => {
    const db = testDb();
    const count = async () => (await db.db.execute<{ n: number }>("select count(*)::int as n from plans" as never)).rows[0]?.n;
    const before = await count();
    await providerFault(mode);
    const res = await sync();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.body.provider_failure).toBe(failure);
    expect(await count()).toBe(before);
    await db.close();
    await searchStillServes();
    expect(await lastReport()).toMatchObject({ outcome: "failed", error: { failure } });
  });

  it("cuts off a document over PROVIDER_MAX_BYTES (4 MiB in tests) while streaming: 502, nothing stored", async () => {
    await control("/provider/generate?plans=2000&zones=30&base=90000");
    const res = await sync();
    expect(res.status).toBe(502);
    expect(res.body.provider_failure).toBe("bad_response");
    expect(res.body.detail).toMatch(/larger than 4194304 bytes/);
    const db = testDb();
    const { rows } = await db.db.execute<{ n: number }>("select count(*)::int as n from plans where base_plan_id::int between 90000 and 99999" as never);
    await db.close();
    expect(rows[0]?.n).toBe(0);
    await searchStillServes();
    await setProviderDocuments([sample3]);
  });

  it("opens the circuit breaker after repeated failures (503 + Retry-After, provider left alone), then recovers", async () => {
    await providerFault("503");
    const calls = async () => (await (await fetch(`${env.TEST_CONTROL_URL}/provider/calls`)).json()) as { calls: number };
    expect((await sync()).status).toBe(502); // attempts 1-3
    const open = await sync(); // attempts 4-5 open the breaker
    expect([502, 503]).toContain(open.status);
    const before = (await calls()).calls;
    const rejected = await sync();
    expect(rejected.status).toBe(503);
    expect(rejected.body.provider_failure).toBe("circuit_open");
    expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await calls()).calls).toBe(before);
    await searchStillServes();
    await providerFault("none");
    await new Promise((r) => setTimeout(r, 2_100)); // half-open after 2 s in tests
    const recovered = await sync();
    expect(recovered.status).toBe(200);
  });

  it("overlapping syncs do not corrupt data: one runs, the other reports skipped or runs after", async () => {
    await setProviderDocuments([generatePlanDocumentText({ plans: 300, zonesPerPlan: 30, basePlanIdOffset: 70_000, invalidEvery: 50 })]);
    const [a, b] = await Promise.all([sync(), sync()]);
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

describe("cron trigger", () => {
  it("runs the plan sync on the every-minute schedule", async () => {
    await setProviderDocuments([generatePlanDocumentText({ plans: 5, zonesPerPlan: 2, basePlanIdOffset: 80_000, priceShift: 1 })]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const last = await lastReport();
    expect(last).toMatchObject({ trigger: "cron", outcome: "ok", counts: { plans_seen: 5, upserted: 5 }, index: { stored: true } });
    expect(last.index?.plans).toBeGreaterThanOrEqual(5);
    const { body } = await search("?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z");
    expect(body.data.events.map((e: Event) => e.id)).toContain(planUuid("80000", "0"));
  });
});

describe("conformance with the real provider's responses (../shared/fixtures/provider)", () => {
  const fixtures = inject("sharedProviderFixtures");
  if (fixtures.length === 0) console.warn("conformance test skipped: ../shared/fixtures/provider is not beside this clone");
  const feverIds = ["291", "322", "1591", "444"].flatMap((b) => ["291", "1642", "1643"].map((p) => planUuid(b, p)));
  const feverEvents = async () => {
    const { body } = await search("?starts_at=2021-01-01T00:00:00Z&ends_at=2021-12-31T23:59:59Z");
    return body.data.events.filter((e: Event) => feverIds.includes(e.id));
  };
  it.skipIf(fixtures.length === 0)("matches the contract field for field after the three consecutive responses", async () => {
    await setProviderDocuments(fixtures);
    for (let i = 0; i < fixtures.length; i++) expect((await sync()).status).toBe(200);
    const fever = await feverEvents();
    expect(fever).toEqual([
      { id: planUuid("322", "1642"), title: "Pantomima Full", start_date: "2021-02-10", start_time: "20:00:00", end_date: "2021-02-10", end_time: "21:30:00", min_price: 55, max_price: 55 },
      { id: planUuid("322", "1643"), title: "Pantomima Full", start_date: "2021-02-11", start_time: "20:00:00", end_date: "2021-02-11", end_time: "21:30:00", min_price: 55, max_price: 55 },
      { id: planUuid("291", "291"), title: "Camela en concierto", start_date: "2021-06-30", start_time: "21:00:00", end_date: "2021-06-30", end_time: "21:30:00", min_price: 15, max_price: 30 },
      { id: planUuid("1591", "1642"), title: "Los Morancos", start_date: "2021-07-31", start_time: "20:00:00", end_date: "2021-07-31", end_time: "21:00:00", min_price: 65, max_price: 75 },
    ]);
    // Ids are stable across calls and re-ingests (the same three responses again).
    expect(await feverEvents()).toEqual(fever);
    for (let i = 0; i < fixtures.length; i++) expect((await sync()).status).toBe(200);
    expect(await feverEvents()).toEqual(fever);
  });
});
