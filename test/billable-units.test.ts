import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { createApp } from "../src/http/app.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import type { Units } from "../src/lib/meter.ts";
import { newUnits } from "../src/lib/meter.ts";
import { cacheKeys } from "../src/subscribers/model.ts";
import { bearer, captureLogLines, createTestKey, logRecords, testDb, uniqueDomain } from "./helpers.ts";
import { it } from "./plan-helpers.ts";
import { runBatch, subscriberMessage, updateMessage } from "./queue-helpers.ts";

// Every billable unit on each invocation's log line (src/lib/meter.ts), measured on the real local
// KV, Queues, Durable Objects and Postgres. The unit names are the log fields `npm run cost` reads.

const verbose = { ...env, LOG_LEVEL: "info" } as Env;
const app = createApp();
const lines = captureLogLines();
let db: DbHandle;
let key: string;
const UNIT_NAMES = Object.keys(newUnits()) as (keyof Units)[];
/** Analytics Engine points are written only where the dataset is bound. */
const aePoint = (env as Partial<Pick<Env, "METRICS">>).METRICS ? 1 : 0;

const parsed = () => logRecords(lines);

/** The units on the last `event` line written while `fn` ran, and how many lines it wrote in all. */
async function unitsOf(event: string, fn: () => Promise<unknown>): Promise<Units & { lines: number }> {
  lines.length = 0;
  await fn();
  const all = parsed();
  const line = all.filter((l) => l.event === event).at(-1);
  if (!line) throw new Error(`no ${event} line`);
  for (const name of UNIT_NAMES) expect(typeof line[name], `${event}.${name}`).toBe("number");
  return { ...(Object.fromEntries(UNIT_NAMES.map((n) => [n, line[n]])) as unknown as Units), lines: all.length };
}

function request(path: string, init: RequestInit = {}, opts: { cold?: boolean } = {}): () => Promise<Response> {
  return async () => {
    if (opts.cold) resetIsolateMemory();
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`http://edge.test${path}`, init), verbose, ctx);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return res;
  };
}

const authed = () => ({ headers: bearer(key) });

beforeAll(async () => {
  db = testDb();
  key = await createTestKey(db, ["admin"], "billable-units");
  await request("/v1/stats", authed())();
});
afterAll(() => db.close());

describe("the meter of billable units", () => {
  it("a read: every unit on its line; a warm hit asks Postgres nothing and writes nothing", async () => {
    const created = subscriberMessage(`units@${uniqueDomain()}`);
    await runBatch([created]);
    const path = `/v1/subscribers/${created.subscriber.id}`;
    // The consumer writes no entry: the first read fills it.
    await request(path, authed(), { cold: true })();
    const cold = await unitsOf("http_request", request(path, authed(), { cold: true }));
    expect(cold).toMatchObject({ kv_writes: 0, kv_deletes: 0, db_round_trips: 0, queue_sent: 0, ae_points: aePoint });
    expect(cold.kv_reads).toBeGreaterThanOrEqual(1);
    // The line counts itself, and every other line the request wrote.
    expect(cold.log_events).toBe(cold.lines);
    const warm = await unitsOf("http_request", request(path, authed()));
    expect(warm).toMatchObject({ kv_reads: 0, kv_writes: 0, kv_deletes: 0, db_round_trips: 0, log_events: 1 });
    // A miss asks Postgres: one statement over HTTP.
    await env.CACHE.delete(cacheKeys.byId(created.subscriber.id));
    const miss = await unitsOf("http_request", request(path, authed(), { cold: true }));
    expect(miss.db_round_trips).toBe(1);
    expect(miss.kv_writes).toBe(1);
  });

  it("Durable Object rate limiting: each call is a request and writes no storage row (the bucket is in memory)", async () => {
    const seen = await unitsOf("http_request", request("/v1/stats", authed(), { cold: true }));
    expect(seen.do_requests).toBeGreaterThanOrEqual(1);
    expect(seen.do_rows_written).toBe(0);
  });

  it("an accepted write sends one queue message of one 64 KB unit", async () => {
    const body = JSON.stringify({ email: `w@${uniqueDomain()}`, name: "W", last_name: "U" });
    const init = { method: "POST", headers: { ...bearer(key), "Content-Type": "application/json" }, body };
    const units = await unitsOf("http_request", request("/v1/subscribers", init));
    expect(units).toMatchObject({ queue_sent: 1, queue_received: 0, db_round_trips: 0 });
  });

  it("a queue batch: its messages received, its statements, and a settle message only for changes", async () => {
    const creates = [1, 2, 3].map((i) => subscriberMessage(`q${i}@${uniqueDomain()}`));
    const batch = await unitsOf("queue_batch", () => runBatch(creates, { env: verbose }));
    expect(batch.queue_received).toBe(3);
    // At least begin, one statement and commit; the exact count is the consumer's business.
    expect(batch.db_round_trips).toBeGreaterThanOrEqual(3);
    // Creates leave no cache entry to correct: no settle message, no KV operation.
    expect(batch).toMatchObject({ queue_sent: 0, kv_reads: 0, kv_writes: 0, kv_deletes: 0 });
    const updates = creates.map((m) => updateMessage(m.subscriber.id, { name: "Z" }));
    const again = await unitsOf("queue_batch", () => runBatch(updates, { env: verbose }));
    expect(again.queue_received).toBe(3);
    // Changes: both keys of each read (none was cached, so nothing written), and one delayed settle message.
    expect(again).toMatchObject({ queue_sent: 1, kv_reads: 6, kv_writes: 0, kv_deletes: 0 });
  });

  it("the meter keeps concurrent requests apart", async () => {
    const created = subscriberMessage(`par@${uniqueDomain()}`);
    await runBatch([created]);
    lines.length = 0;
    const path = `/v1/subscribers/${created.subscriber.id}`;
    resetIsolateMemory();
    await Promise.all([1, 2, 3, 4].map(() => request(path, authed())()));
    const reqs = parsed().filter((l) => l.event === "http_request");
    expect(reqs).toHaveLength(4);
    // Each line has its own reads: concurrent requests never add to each other's counts.
    for (const l of reqs) expect(Number(l.kv_reads)).toBeLessThanOrEqual(2);
  });
});
