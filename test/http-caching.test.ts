import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, vi } from "vitest";
import { createApp } from "../src/http/app.ts";
import worker from "../src/index.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import { planCacheKeys, planUuid } from "../src/plans/model.ts";
import { databaseDown, setProviderDocuments } from "./helpers.ts";
import type { Plan, PlanPage, SearchBody } from "./plan-helpers.ts";
import { it, sync, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));

/** Two plans of our own, far from every other file's: INSIDE is in the queried range, OUTSIDE is not. */
const INSIDE = { base: "88001", id: "1", start: "2031-03-10T20:00:00", end: "2031-03-10T22:00:00" };
const OUTSIDE = { base: "88002", id: "1", start: "2031-05-10T20:00:00", end: "2031-05-10T22:00:00" };
type Sample = typeof INSIDE & { price: number };

function planDocument(plans: Sample[]): string {
  const body = plans
    .map(
      (p) => `<base_plan base_plan_id="${p.base}" sell_mode="online" title="Caching ${p.base}">
  <plan plan_start_date="${p.start}" plan_end_date="${p.end}" plan_id="${p.id}" sell_from="2031-01-01T00:00:00" sell_to="${p.start}" sold_out="false">
    <zone zone_id="1" capacity="10" price="${p.price.toFixed(2)}" name="Sala" numbered="false" />
  </plan>
</base_plan>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<planList version="1.0"><output>\n${body}\n</output></planList>`;
}

/** Publishes a document through a sync with this admin key and returns the run's outcome. */
async function publish(admin: string, plans: Sample[]): Promise<string> {
  await setProviderDocuments([planDocument(plans)]);
  const { status, body } = await sync(admin);
  expect(status).toBe(200);
  return body.data.outcome;
}

const SEARCH_IN = "/search?starts_at=2031-03-01T00:00:00Z&ends_at=2031-03-31T23:59:59Z";
// Only OUTSIDE's day: other files store plans elsewhere in May 2031 (stats-counters.test.ts), and the
// files run in any order.
const SEARCH_OUT = "/search?starts_at=2031-05-10T00:00:00Z&ends_at=2031-05-10T23:59:59Z";
const LIST_IN = "/v1/plans?starts_at=2031-03-01T00:00:00Z&ends_at=2031-03-31T23:59:59Z";
const ONE_IN = `/v1/plans/${planUuid(INSIDE.base, INSIDE.id)}`;
const POLICY = "public, max-age=30, stale-while-revalidate=60";

/**
 * A GET through the Worker's own fetch, returning once its waitUntil work (the Cache API put) is
 * done: the next request sees what this one stored, with no timer involved.
 */
async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge.test${path}`, { headers }), env, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(res.status === 304 ? null : body, { status: res.status, headers: res.headers });
}

/** The level that answered, as the request reported it in Server-Timing. */
const levelOf = (res: Response) => /cache-level;desc="(\w+)"/.exec(res.headers.get("server-timing") ?? "")?.[1];

async function expectNotModified(path: string, ifNoneMatch: string, etag: string): Promise<void> {
  const res = await get(path, { "If-None-Match": ifNoneMatch });
  expect(res.status, `${path} If-None-Match: ${ifNoneMatch}`).toBe(304);
  expect(await res.text()).toBe("");
  expect(res.headers.get("etag")).toBe(etag);
  expect(res.headers.get("cache-control")).toBe(POLICY);
}

async function etagOf(path: string): Promise<string> {
  const res = await get(path);
  expect(res.status, path).toBe(200);
  expect(res.headers.get("cache-control")).toBe(POLICY);
  const etag = res.headers.get("etag");
  expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
  return etag as string;
}

const inside = (price: number): Sample => ({ ...INSIDE, price });
const outside = (price: number): Sample => ({ ...OUTSIDE, price });
const pricesIn = async (path: string) => (await (await get(path)).json<SearchBody>()).data.events.map((e) => e.max_price);

describe("ETags change when, and only when, the answer changes", () => {
  it("across syncs that change plans outside the range, nothing, and then a plan inside it", async ({ admin }) => {
    expect(await publish(admin, [inside(10), outside(20)])).toBe("ok");
    const search1 = await etagOf(SEARCH_IN);
    const list1 = await etagOf(LIST_IN);
    const one1 = await etagOf(ONE_IN);
    expect(await pricesIn(SEARCH_IN)).toEqual([10]);

    // Only the plan outside the range changes (the inside one is not in the document, so not even its
    // last_seen_at moves): a new index generation, the same answers.
    expect(await publish(admin, [outside(21)])).toBe("ok");
    expect(await pricesIn(SEARCH_OUT)).toEqual([21]);
    for (const [path, etag] of [
      [SEARCH_IN, search1],
      [LIST_IN, list1],
      [ONE_IN, one1],
    ] as const) {
      expect(await etagOf(path), path).toBe(etag);
      await expectNotModified(path, etag, etag);
    }

    // The same document again: nothing changes.
    expect(["unchanged", "not_modified"]).toContain(await publish(admin, [outside(21)]));
    expect(await etagOf(SEARCH_IN)).toBe(search1);
    await expectNotModified(LIST_IN, list1, list1);
    await expectNotModified(ONE_IN, one1, one1);

    // The plan inside the range changes: new ETags, and the old validator gets the new body.
    expect(await publish(admin, [inside(11)])).toBe("ok");
    for (const [path, old] of [
      [SEARCH_IN, search1],
      [LIST_IN, list1],
      [ONE_IN, one1],
    ] as const) {
      const res = await get(path, { "If-None-Match": old });
      expect(res.status, path).toBe(200);
      const etag = res.headers.get("etag") as string;
      expect(etag, path).not.toBe(old);
      const text = await res.text();
      expect(text, path).toContain('"max_price":11');
      await expectNotModified(path, etag, etag);
    }
  });

  it("a sync that only re-sees a plan changes /v1/plans (last_seen_at is part of it) but not /search", async ({ admin }) => {
    await publish(admin, [inside(12)]);
    const search = await etagOf(SEARCH_IN);
    const oneRes = await get(ONE_IN);
    const one = oneRes.headers.get("etag") as string;
    const seenBefore = (await oneRes.json<{ data: Plan }>()).data.last_seen_at;

    expect(await publish(admin, [inside(12), outside(23)])).toBe("ok");
    expect(await etagOf(SEARCH_IN)).toBe(search);
    const after = await get(ONE_IN, { "If-None-Match": one });
    expect(after.status).toBe(200);
    expect((await after.json<{ data: Plan }>()).data.last_seen_at).not.toBe(seenBefore);
    expect(after.headers.get("etag")).not.toBe(one);
  });
});

describe("conditional GET (RFC 9110 §13.1.2)", () => {
  it("matches weakly, in lists and with *, and sends the body for anything else", async ({ admin }) => {
    await publish(admin, [inside(13)]);
    const etag = await etagOf(SEARCH_IN);
    await expectNotModified(SEARCH_IN, `W/${etag}`, etag);
    await expectNotModified(SEARCH_IN, `"something-else", ${etag}`, etag);
    await expectNotModified(SEARCH_IN, "*", etag);
    for (const other of ['"something-else"', `${etag.slice(0, -2)}"`, "not-an-etag"]) {
      const res = await get(SEARCH_IN, { "If-None-Match": other });
      expect(res.status, other).toBe(200);
      expect((await res.json<SearchBody>()).data.events.map((e) => e.max_price)).toEqual([13]);
    }
  });

  it("lets a page's script on another origin read the ETag and send If-None-Match (CORS)", async () => {
    const options = await worker.fetch(
      new Request(`http://edge.test${SEARCH_IN}`, {
        method: "OPTIONS",
        headers: {
          Origin: "https://app.example",
          "Access-Control-Request-Method": "GET",
          "Access-Control-Request-Headers": "if-none-match",
        },
      }),
      env,
      createExecutionContext(),
    );
    expect(options.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("if-none-match");
    const res = await get(SEARCH_IN, { Origin: "https://app.example" });
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("etag");
  });

  it("never caches an error, and a 404 or 422 on /v1/plans carries no validator", async () => {
    const bad = await get("/search?starts_at=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("cache-control")).toBe("no-store");
    expect(bad.headers.get("etag")).toBeNull();
    for (const path of [`/v1/plans/${planUuid("77999", "9")}`, "/v1/plans?limit=500"]) {
      const res = await get(path, { "If-None-Match": "*" });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("etag")).toBeNull();
    }
  });
});

describe("cache levels", () => {
  it("/search: KV for a fresh isolate, then isolate memory, then the Cache API for the next fresh isolate, which needs neither KV's index nor Postgres", async ({
    admin,
  }) => {
    await publish(admin, [inside(14)]);
    // A fresh isolate asks the Cache API (nothing yet for this new generation), then reads the
    // manifest and the part it needs from KV, and stores the answer in the Cache API.
    resetIsolateMemory();
    const fromKv = await get(SEARCH_IN);
    expect(levelOf(fromKv)).toBe("kv");
    const etag = fromKv.headers.get("etag") as string;
    const memory = await get(SEARCH_IN);
    expect(levelOf(memory)).toBe("memory");
    expect(memory.headers.get("etag")).toBe(etag);

    // A new isolate, the index gone from KV (only its generation marker left) and Postgres down:
    // the answer this data centre stored for this generation and range still serves, validators too.
    const index = await env.CACHE.get(planCacheKeys.indexManifest, "text");
    await env.CACHE.delete(planCacheKeys.indexManifest);
    try {
      resetIsolateMemory();
      const edge = await databaseDown(() => get(SEARCH_IN));
      expect(edge.status).toBe(200);
      expect(levelOf(edge)).toBe("edge");
      expect(edge.headers.get("etag")).toBe(etag);
      expect((await edge.json<SearchBody>()).data.events.map((e) => e.max_price)).toEqual([14]);
      resetIsolateMemory();
      const conditional = await databaseDown(() => get(SEARCH_IN, { "If-None-Match": etag }));
      expect(conditional.status).toBe(304);
      expect(levelOf(conditional)).toBe("edge");
    } finally {
      await env.CACHE.put(planCacheKeys.indexManifest, index as string);
      resetIsolateMemory();
    }
  });

  it("/search from Postgres (KV cold) carries the same validator and is not stored, having no generation", async ({ admin }) => {
    await publish(admin, [inside(18)]);
    const etag = await etagOf(SEARCH_IN);
    const saved = await Promise.all([planCacheKeys.indexManifest, planCacheKeys.indexGeneration].map((k) => env.CACHE.get(k, "text")));
    await Promise.all([planCacheKeys.indexManifest, planCacheKeys.indexGeneration].map((k) => env.CACHE.delete(k)));
    try {
      for (let i = 0; i < 2; i++) {
        resetIsolateMemory();
        const cold = await get(SEARCH_IN, { "If-None-Match": etag });
        expect(cold.status).toBe(304);
        expect(levelOf(cold)).toBe("database");
      }
    } finally {
      await env.CACHE.put(planCacheKeys.indexManifest, saved[0] as string);
      await env.CACHE.put(planCacheKeys.indexGeneration, saved[1] as string);
      resetIsolateMemory();
    }
  });

  it("a sync that changes the range is a new Cache API key: a fresh isolate never gets the old answer", async ({ admin }) => {
    await publish(admin, [inside(15)]);
    resetIsolateMemory();
    const before = await get(SEARCH_IN);
    resetIsolateMemory();
    expect(levelOf(await get(SEARCH_IN))).toBe("edge");

    await publish(admin, [inside(16)]);
    resetIsolateMemory();
    const after = await get(SEARCH_IN);
    expect(levelOf(after)).toBe("kv");
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
    expect((await after.json<SearchBody>()).data.events.map((e) => e.max_price)).toEqual([16]);
  });

  it("/v1/plans pages and plans: the Cache API answers a repeat, per exact URL (a page's links repeat it)", async ({ admin }) => {
    await publish(admin, [inside(17)]);
    const first = await get(`${LIST_IN}&limit=1`);
    expect(levelOf(first)).toMatch(/^(kv|database)$/);
    const again = await get(`${LIST_IN}&limit=1`);
    expect(levelOf(again)).toBe("edge");
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(await again.json<PlanPage>()).toEqual(await first.json<PlanPage>());
    await get(ONE_IN);
    const one = await databaseDown(() => get(ONE_IN));
    expect(levelOf(one)).toBe("edge");
    expect((await one.json<{ data: Plan }>()).data.max_price).toBe(17);
  });

  it("logs the level that answered beside the cache outcome", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const ctx = createExecutionContext();
      await createApp().fetch(new Request(`http://edge.test${SEARCH_IN}`), { ...env, LOG_LEVEL: "info" } as Env, ctx);
      await waitOnExecutionContext(ctx);
    } finally {
      spy.mockRestore();
    }
    const request = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "http_request");
    expect(request).toMatchObject({ route: "/search", status: 200, cache: "hit", cache_level: "memory" });
  });
});

describe("OpenAPI", () => {
  it("documents If-None-Match, the 200's ETag and Cache-Control, and the 304 on each cacheable read", async () => {
    type Op = { parameters?: Array<{ in: string; name: string }>; responses: Record<string, { headers?: Record<string, unknown> }> };
    const doc = await (await get("/openapi.json")).json<{ paths: Record<string, { get: Op }> }>();
    for (const path of ["/search", "/v1/plans", "/v1/plans/{id}"]) {
      const op = doc.paths[path]?.get as Op;
      expect(
        op.parameters?.some((p) => p.in === "header" && p.name.toLowerCase() === "if-none-match"),
        path,
      ).toBe(true);
      for (const status of ["200", "304"])
        expect(Object.keys(op.responses[status]?.headers ?? {}), `${path} ${status}`).toEqual(
          expect.arrayContaining(["ETag", "Cache-Control", "Vary"]),
        );
    }
  });
});
