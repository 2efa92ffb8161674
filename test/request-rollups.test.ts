import { exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestRollups } from "../src/db/schema.ts";
import { isolateRollups, LATENCY_BOUNDS_MS } from "../src/status/rollup.ts";
import { Status } from "../src/status/schema.ts";
import { appWith, bearer, call, createTestKey, testDb, waitFor } from "./helpers.ts";

const db = testDb();
afterAll(() => db.close());
let admin: string;
beforeAll(async () => {
  admin = await createTestKey(db, ["admin"], "rollups-admin");
});

/**
 * The rollups' clock is injected (isolateRollups.state.now) so that minutes pass without
 * sleeping: the test isolate is the Worker's isolate, so the requests below are counted and flushed
 * by the very state the test moves in time. A config knob shortening the minute would instead change
 * what production runs; the clock changes only when minutes end.
 */
describe("request rollups under load", () => {
  const MINUTE = 60_000;
  // A minute in the past, so no real flush of this isolate's own minutes can collide with these rows.
  const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
  let clock = T0;

  async function burst(n: number, at: number): Promise<void> {
    clock = at;
    const paths = ["/health", "/v1/stats", "/nope"];
    const res = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const path = paths[i % paths.length]!;
        return call(path, path === "/v1/stats" ? { headers: bearer(admin) } : {});
      }),
    );
    for (const r of res) await r.arrayBuffer();
  }

  it("writes at most one row per isolate, minute and route group, and the counts add up to the requests made", {
    timeout: 60_000,
  }, async () => {
    isolateRollups.state = {
      ...isolateRollups.state,
      current: null,
      finished: [],
      lastFlushAt: 0,
      flushes: 0,
      now: () => clock,
    };
    const state = () => isolateRollups.state;
    try {
      // Minute 0: 300 concurrent requests, nothing written (the minute is not over).
      await burst(300, T0 + 1_000);
      expect(state().flushes).toBe(0);
      // Minute 1: its first request finishes minute 0 and carries it to Postgres; the other 149 do not.
      await burst(150, T0 + MINUTE + 500);
      expect(state().flushes).toBe(1);
      // Minute 2 starts 59.5 s after that flush: minute 1 is finished but waits for the next one.
      await burst(90, T0 + 2 * MINUTE);
      expect(state().flushes).toBe(1);
      await burst(30, T0 + 2 * MINUTE + 500);
      expect(state().flushes).toBe(2);
      const isolate = state().isolateId!;

      const rows = await waitFor(
        async () => {
          const found = await db.db.select().from(requestRollups).where(eq(requestRollups.isolateId, isolate));
          return found.reduce((a, r) => a + r.count, 0) === 450 ? found : undefined;
        },
        10_000,
        "minutes 0 and 1 flushed",
      );
      const keys = rows.map((r) => `${r.minute.toISOString()} ${r.routeGroup}`);
      expect(new Set(keys).size).toBe(rows.length);
      const count = (minute: number, group: string) => rows.find((r) => r.minute.getTime() === minute && r.routeGroup === group)?.count;
      expect([count(T0, "health"), count(T0, "subscribers"), count(T0, "other")]).toEqual([100, 100, 100]);
      expect([count(T0 + MINUTE, "health"), count(T0 + MINUTE, "subscribers"), count(T0 + MINUTE, "other")]).toEqual([50, 50, 50]);
      for (const r of rows) {
        expect(r.buckets).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
        expect(r.buckets.reduce((a, b) => a + b, 0)).toBe(r.count);
        expect(r.errors).toBe(0);
      }
      // /v1/stats reads through the cache: every request is a lookup.
      const stats = rows.find((r) => r.minute.getTime() === T0 && r.routeGroup === "subscribers")!;
      expect(stats.cacheLookups).toBe(100);

      // The status document reads them back: minute 0 of the hour window holds 100 health requests.
      const res = await exports.default.fetch(new Request("http://edge.test/v1/admin/status?window=hour", { headers: bearer(admin) }));
      expect(res.status).toBe(200);
      const status = Status.parse((await res.json<{ data: unknown }>()).data);
      const step = status.requests.t.indexOf(T0 / 1000);
      expect(step).toBeGreaterThanOrEqual(0);
      const health = status.requests.groups.find((g) => g.group === "health")!;
      expect(health.per_minute[step]).toBeGreaterThanOrEqual(100);
      expect(health.error_rate[step]).toBe(0);
      expect(health.p50_ms[step]).toBeGreaterThan(0);
    } finally {
      isolateRollups.state = { ...isolateRollups.state, now: Date.now, current: null, finished: [] };
      await db.db.delete(requestRollups).where(eq(requestRollups.minute, new Date(T0)));
      await db.db.delete(requestRollups).where(eq(requestRollups.minute, new Date(T0 + MINUTE)));
    }
  });

  it("METRICS_ROLLUPS=off counts nothing", async () => {
    const before = isolateRollups.state.current;
    isolateRollups.state.current = null;
    await (await appWith({ METRICS_ROLLUPS: "off" })("/health")).arrayBuffer();
    expect(isolateRollups.state.current).toBeNull();
    isolateRollups.state.current = before;
  });
});
