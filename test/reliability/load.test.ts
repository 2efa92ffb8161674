// Load with duplicates: many concurrent POSTs, a fifth of them duplicates (case variants and exact
// copies racing their originals), end with exactly the unique set stored once and no 5xx.
// npm test: 500 POSTs at concurrency 16. npm run test:reliability: 5,000 at concurrency 64.
import { env } from "cloudflare:workers";
import { ilike } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.ts";
import type { OperationBody } from "../helpers.ts";
import { bearer, createTestKey, postJson, testDb, uniqueDomain, waitFor } from "../helpers.ts";
import { operationsOf } from "../queue-helpers.ts";
import { pool, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const TOTAL = long ? 5_000 : 500;
const CONCURRENCY = long ? 64 : 16;

const db = testDb();
let writer: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "reliability-load");
});
afterAll(() => db.close());

describe(`reliability: ${TOTAL} POSTs at concurrency ${CONCURRENCY} with 20% duplicates`, () => {
  it("stores exactly the unique set, each once; every accepted operation has an outcome; no 5xx", {
    timeout: long ? 300_000 : 90_000,
  }, async () => {
    const domain = uniqueDomain();
    const uniqueCount = Math.round(TOTAL * 0.8);
    const unique = Array.from({ length: uniqueCount }, (_, i) => `load${i}@${domain}`);
    const dupCount = TOTAL - uniqueCount;
    // Half the duplicates are case variants, half exact copies; shuffled so copies race originals.
    const dups = Array.from({ length: dupCount }, (_, i) => {
      const email = unique[(i * 7) % uniqueCount]!;
      return i % 2 === 0 ? email.replace(/^load/, "LOAD").toUpperCase() : email;
    });
    const emails = [...unique, ...dups];
    for (let i = emails.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [emails[i], emails[j]] = [emails[j]!, emails[i]!];
    }

    const statuses: Record<number, number> = {};
    const accepted: string[] = [];
    await pool(emails, CONCURRENCY, async (email) => {
      const res = await postJson("/v1/subscribers", { email, name: "Load", last_name: "Test", status: "active" }, bearer(writer));
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 202) accepted.push((await res.json<OperationBody>()).data.id);
      else await res.body?.cancel();
    });
    expect(Object.keys(statuses).filter((s) => Number(s) >= 500)).toEqual([]);
    // 409 only when the edge already knew the address; everything else was accepted.
    expect(Object.keys(statuses).map(Number).sort()).toEqual(expect.arrayContaining([202]));
    expect((statuses[202] ?? 0) + (statuses[409] ?? 0)).toBe(TOTAL);

    const outcomes = await waitFor(
      async () => {
        const rows = [];
        for (let i = 0; i < accepted.length; i += 1000) {
          rows.push(...(await operationsOf(db, accepted.slice(i, i + 1000))));
        }
        return rows.length === accepted.length ? rows : undefined;
      },
      long ? 240_000 : 60_000,
      `${accepted.length} operation outcomes`,
    );
    const stored = await db.db
      .select()
      .from(subscribers)
      .where(ilike(subscribers.email, `%@${domain}`));
    expect(stored.map((s) => s.email.toLowerCase()).sort()).toEqual([...unique].sort());
    const succeeded = outcomes.filter((o) => o.status === "succeeded");
    const failed = outcomes.filter((o) => o.status === "failed");
    expect(new Set(succeeded.map((o) => o.subscriberId))).toEqual(new Set(stored.map((s) => s.id)));
    expect(failed.every((o) => o.errorCode === "already_exists" && stored.some((s) => s.id === o.subscriberId))).toBe(true);

    report("load with duplicates", {
      posts: TOTAL,
      concurrency: CONCURRENCY,
      unique_emails: uniqueCount,
      duplicates: dupCount,
      statuses,
      operations_checked: outcomes.length,
      succeeded: succeeded.length,
      failed_already_exists: failed.length,
      rows_stored: stored.length,
    });
  });
});
