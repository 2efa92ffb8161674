// A database outage longer than the whole retry budget: writes accepted during it are dead-lettered,
// parked in KV while Postgres is away, and replayed by the every-minute redrive once it is back.
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { retryBudgetSeconds } from "../../src/config/retry.ts";
import { CRON_TASKS } from "../../src/cron/index.ts";
import { PARKED_PREFIX } from "../../src/dead-letters/dead-letter.ts";
import { createRuntime } from "../../src/runtime.ts";
import type { OperationBody } from "../helpers.ts";
import { bearer, call, control, createTestKey, postJson, testDb, uniqueDomain, waitFor } from "../helpers.ts";
import { operationsOf, storedIn, waitForOperations } from "../queue-helpers.ts";
import { pool, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const db = testDb();
let writer: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "reliability-outage-writer");
});
afterAll(() => db.close());

describe("reliability: Postgres unreachable for longer than the retry budget", () => {
  it("writes accepted during the outage outlive the budget parked in KV, and after Postgres returns every one is stored exactly once", {
    timeout: 180_000,
  }, async () => {
    const config = getConfig(env);
    const budgetMs = retryBudgetSeconds(config.queueRetry) * 1000;
    const count = long ? 200 : 40;
    const domain = uniqueDomain();
    const emails = Array.from({ length: count }, (_, i) => `outage${i}@${domain}`);
    expect((await call("/v1/stats", { headers: bearer(writer) })).status).toBe(200);

    const accepted: string[] = [];
    const statuses: Record<number, number> = {};
    let parkedWhileDown = 0;
    const started = Date.now();
    await control("/relay/down");
    try {
      // POSTs keep arriving through the first part of the outage.
      for (let i = 0; i < emails.length; i += 8) {
        await pool(emails.slice(i, i + 8), 8, async (email) => {
          const res = await postJson("/v1/subscribers", { email, name: "Out", last_name: "Age" }, bearer(writer));
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 202) accepted.push((await res.json<OperationBody>()).data.id);
        });
        await new Promise((r) => setTimeout(r, 100));
      }
      // Down until every accepted write has spent its whole budget and been dead-lettered, and the
      // dead-letter consumer, unable to reach Postgres either, has parked each one in KV.
      parkedWhileDown = await waitFor(
        async () => {
          const { keys } = await env.CACHE.list({ prefix: PARKED_PREFIX });
          return keys.length >= count ? keys.length : undefined;
        },
        budgetMs + 60_000,
        "every write parked after its retry budget",
      );
    } finally {
      await control("/relay/up");
    }
    const outageMs = Date.now() - started;
    expect(statuses).toEqual({ 202: count });
    expect(outageMs).toBeGreaterThan(budgetMs);
    expect(await operationsOf(db, accepted)).toEqual([]);

    // The every-minute cron's redrive task moves parked dead letters into Postgres and replays them.
    // Run alone: the same schedule's plan sync would change the plans other test files assert on.
    const redrive = CRON_TASKS["* * * * *"]?.find((t) => t.name === "dead_letter_redrive");
    const rt = createRuntime(env);
    try {
      const result = await redrive!.run(rt, new Date());
      // At least ours: other files' dead letters may be parked or due too.
      expect(result.parked_moved).toBeGreaterThanOrEqual(count);
      expect(result.replayed).toBeGreaterThanOrEqual(count);
    } finally {
      await rt.dispose();
    }
    expect((await env.CACHE.list({ prefix: PARKED_PREFIX })).keys).toEqual([]);

    const outcomes = await waitForOperations(db, accepted, 60_000);
    const stored = await storedIn(db, domain);
    expect(stored.map((r) => r.email).sort()).toEqual([...emails].sort());
    expect(outcomes.every((o) => o.status === "succeeded")).toBe(true);
    report("postgres down beyond the retry budget", {
      posts: count,
      retry_budget_s: budgetMs / 1000,
      outage_s: Math.round(outageMs / 1000),
      parked_in_kv: parkedWhileDown,
      operations_succeeded: outcomes.length,
      rows_stored: stored.length,
    });
  });
});
