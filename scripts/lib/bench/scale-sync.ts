// The scale bench's background paths: the plan sync's CPU (workerd's own, from /proc), the largest
// value in the edge cache, and the subscriber consumer's batch time.
import { readFileSync } from "node:fs";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import type { GenerateOptions } from "../generate-plans.ts";
import { generatePlanDocument } from "../generate-plans.ts";
import type { ProviderStandin } from "../provider-standin.ts";
import type { PathResult } from "./scale-paths.ts";
import { kvKeys, summarise } from "./scale-paths.ts";
import type { AppInstance } from "./scale-stack.ts";
import { cacheKv } from "./scale-stack.ts";

/** The provider's current document at every size: 5,000 plans of 2022, 10 zones each (about 5 MB). */
const DOCUMENT: GenerateOptions = { plans: 5_000, zonesPerPlan: 10, basePlanIdOffset: 500_000 };
/** One plan in a hundred has its zone prices moved in the "1 % changed" document. */
const CHANGED_EVERY = 100;

/** CPU time (user + system) of a process, from /proc, in ms (USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The document with every CHANGED_EVERY-th plan's prices shifted by `shift`: generated one plan per
 * chunk, in step with the unshifted document, so only those plans differ.
 */
function changedDocument(shift: number): string {
  const same = generatePlanDocument(DOCUMENT, 1);
  const moved = generatePlanDocument({ ...DOCUMENT, priceShift: shift }, 1);
  const out: string[] = [];
  // Chunk 0 is the header; chunk j (1…plans) holds plan j − 1; the last is the closing tags.
  for (let j = 0; ; j++) {
    const a = same.next();
    const b = moved.next();
    if (a.done || b.done) break;
    out.push(j >= 1 && j <= DOCUMENT.plans && (j - 1) % CHANGED_EVERY === 0 ? b.value : a.value);
  }
  return out.join("");
}

interface SyncReportBody {
  outcome: string;
  counts: { upserted: number; skipped: number; plans_seen: number };
  document: { bytes: number };
  index: { plans: number; bytes: number; stored: boolean } | null;
}

interface SyncRun {
  wall_ms: number;
  cpu_ms: number;
  report: SyncReportBody;
}

async function runSync(app: AppInstance, adminKey: string, want: string[]): Promise<SyncRun> {
  const cpuBefore = cpuMs(app.pid);
  const started = performance.now();
  const res = await fetch(new URL("/v1/admin/plans/sync", app.url), { method: "POST", headers: { Authorization: `Bearer ${adminKey}` } });
  const text = await res.text();
  const wall = performance.now() - started;
  const cpu = cpuMs(app.pid) - cpuBefore;
  if (res.status !== 200) throw new Error(`sync: ${res.status} ${text.slice(0, 300)}`);
  const report = (JSON.parse(text) as { data: SyncReportBody }).data;
  if (!want.includes(report.outcome)) throw new Error(`sync: outcome ${report.outcome}, expected ${want.join(" or ")}`);
  return { wall_ms: Math.round(wall), cpu_ms: Math.round(cpu), report };
}

export interface SyncResults {
  unchanged_cpu: PathResult;
  unchanged_wall: PathResult;
  changed_cpu: PathResult;
  changed_wall: PathResult;
  /** What the last sync (the unchanged document again, after the changed ones) reported about the search index it published. */
  index: SyncReportBody["index"];
}

/**
 * Through POST /v1/admin/plans/sync (the cron's sync): first the document once (publishes the index
 * into this instance's empty KV), then `samples` syncs of it unchanged, then `samples` of a 1 %
 * changed one (a new shift each time, so each is a change of 50 plans), then the document again, so
 * the next run starts from it. The provider stand-in serves the unchanged document without an ETag
 * (a full download and parse every time) and the changed ones with one.
 */
export async function syncPaths(app: AppInstance, provider: ProviderStandin, adminKey: string, samples: number): Promise<SyncResults> {
  provider.setGenerated(DOCUMENT);
  await runSync(app, adminKey, ["ok", "unchanged"]);
  const unchanged: SyncRun[] = [];
  for (let i = 0; i < samples; i++) unchanged.push(await runSync(app, adminKey, ["unchanged"]));
  const changed: SyncRun[] = [];
  for (let i = 0; i < samples; i++) {
    provider.setDocuments([changedDocument(i + 1)]);
    const run = await runSync(app, adminKey, ["ok"]);
    if (run.report.counts.upserted !== DOCUMENT.plans / CHANGED_EVERY)
      throw new Error(`sync: ${run.report.counts.upserted} plans upserted`);
    changed.push(run);
  }
  provider.setGenerated(DOCUMENT);
  const back = await runSync(app, adminKey, ["ok"]);
  const of = (runs: SyncRun[], k: "cpu_ms" | "wall_ms") =>
    summarise(
      runs.map((r) => r[k]),
      { runs: runs.map((r) => r[k]), upserted: runs.map((r) => r.report.counts.upserted), index: runs.at(-1)?.report.index ?? null },
    );
  return {
    unchanged_cpu: of(unchanged, "cpu_ms"),
    unchanged_wall: of(unchanged, "wall_ms"),
    changed_cpu: of(changed, "cpu_ms"),
    changed_wall: of(changed, "wall_ms"),
    index: back.report.index,
  };
}

/** The largest value in the instance's CACHE namespace, and how many keys it holds. */
export async function largestKvValue(app: AppInstance): Promise<{ bytes: number; key: string; keys: number }> {
  const kv = await cacheKv(app);
  const names = await kvKeys(app);
  let largest = { bytes: 0, key: "" };
  for (const name of names) {
    const value = await kv.get(name, "arrayBuffer");
    if (value && value.byteLength > largest.bytes) largest = { bytes: value.byteLength, key: name };
  }
  return { ...largest, keys: names.length };
}

/** Miniflare's Worker handle, typed for the one call used here (its types package is not installed). */
interface QueueHandle {
  queue(
    queueName: string,
    messages: Array<{ id: string; timestamp: Date; attempts: number; body: unknown }>,
  ): Promise<{ outcome: string; ackAll: boolean; explicitAcks: string[]; retryMessages: unknown[]; retryBatch: { retry: boolean } }>;
}

/**
 * `batches` batches of 100 subscriber creates, each handed to the Worker's queue handler directly
 * (as the runtime delivers a batch) and timed until the handler returns; each must ack all 100 and
 * leave 100 new rows in Postgres.
 */
export async function consumerBatches(app: AppInstance, pool: pg.Pool, batches: number, runId: string): Promise<PathResult> {
  const worker = (await app.mf.getWorker()) as unknown as QueueHandle;
  const ms: number[] = [];
  for (let b = 0; b < batches + 1; b++) {
    const prefix = `scale-${runId}-${b}-`;
    const messages = Array.from({ length: 100 }, (_, i) => ({
      id: `scale-${runId}-${b}-${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: {
        type: "subscriber.create",
        v: 1,
        operation_id: uuidv7(),
        requested_at: new Date().toISOString(),
        subscriber: { id: uuidv7(), email: `${prefix}${i}@bench.example.com`, name: "Bench", last_name: "Scale", status: "active" },
      },
    }));
    const started = performance.now();
    const result = await worker.queue("subscriber-writes", messages);
    const took = performance.now() - started;
    const acked = result.ackAll ? messages.length : result.explicitAcks.length;
    if (result.outcome !== "ok" || acked !== messages.length) throw new Error(`consumer: ${result.outcome}, ${acked} acked`);
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from subscribers where lower(email) = any($1::text[])", [
      messages.map((m) => m.body.subscriber.email.toLowerCase()),
    ]);
    if (rows[0]!.n !== messages.length) throw new Error(`consumer: ${rows[0]!.n} of ${messages.length} rows stored`);
    // The first batch opens the isolate's connections and compiles the handler: not counted.
    if (b > 0) ms.push(took);
  }
  return summarise(ms, { batch_size: 100 });
}
