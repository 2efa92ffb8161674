import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, vi } from "vitest";
import { createApp } from "../src/http/app.ts";
import worker from "../src/index.ts";
import { it } from "./harness.ts";
import { appWith, bearer } from "./helpers.ts";

describe("middleware chain", () => {
  it("one JSON log line per request with route, status, ms, cache and key id, never the key", async ({ admin }) => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const fetch = appWith({ LOG_LEVEL: "info" });
    try {
      await fetch("/v1/stats", { headers: bearer(admin) });
    } finally {
      spy.mockRestore();
    }
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === "http_request");
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ route: "/v1/stats", status: 200, method: "GET" });
    expect(typeof requests[0]!.ms).toBe("number");
    expect(requests[0]!.cache).toMatch(/hit|miss/);
    expect(requests[0]!.key_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.join("\n")).not.toContain(admin);
  });
});

describe("metrics (Analytics Engine)", () => {
  function fakeDataset() {
    const points: AnalyticsEngineDataPoint[] = [];
    return { points, dataset: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p ?? {}) } };
  }

  it("writes one data point per request when bound", async ({ admin }) => {
    const { points, dataset } = fakeDataset();
    const fetch = appWith({ METRICS: dataset });
    await fetch("/v1/stats", { headers: bearer(admin) });
    await fetch("/nope");
    expect(points).toHaveLength(2);
    expect(points[0]!.blobs?.slice(0, 4)).toEqual(["request", "/v1/stats", "GET", "2xx"]);
    expect(points[0]!.blobs?.[4]).toMatch(/hit|miss/);
    expect(points[0]!.blobs?.[5]).toMatch(/^[0-9a-f-]{36}$/);
    expect(points[0]!.doubles?.[1]).toBe(200);
    expect(points[0]!.doubles?.[0]).toBeGreaterThanOrEqual(0);
    expect(points[1]!.blobs?.[3]).toBe("4xx");
  });

  it("writes a data point per cron run, and nothing breaks when unbound", async () => {
    const { points, dataset } = fakeDataset();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 * * * *" }), { ...env, METRICS: dataset } as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(points.map((p) => p.blobs?.slice(0, 2))).toEqual([["cron_run", "maintenance"]]);
    const unbound = { ...env } as Partial<Env>;
    delete unbound.METRICS;
    const app = createApp();
    expect((await app.fetch(new Request("http://edge.test/health"), unbound as Env, createExecutionContext())).status).toBe(200);
  });
});
