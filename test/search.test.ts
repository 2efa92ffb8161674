import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import { planUuid } from "../src/plans/model.ts";
import { databaseDown } from "./helpers.ts";
import type { Event } from "./plan-helpers.ts";
import { ALL, it, search, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));

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
    ["?starts_at=0000-01-01T00:00:00Z", "invalid_starts_at"],
    ["?starts_at=2022-01-02T00:00:00Z&ends_at=2022-01-01T00:00:00Z", "invalid_range"],
    ["?starts_at=2022-01-01T00:00:00Z&starts_at=2022-01-02T00:00:00Z", "invalid_parameter"],
  ])("answers 400 with the Fever error envelope for %s", async (query, code) => {
    const { status, body, res } = await search(query);
    expect(status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(body).toEqual({ error: { code, message: expect.any(String) }, data: null });
  });

  it("answers 500 with the envelope and Retry-After when neither the index nor Postgres is available", async () => {
    await env.CACHE.delete("plans:index:v2:manifest");
    await env.CACHE.delete("plans:index:v2:gen");
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
