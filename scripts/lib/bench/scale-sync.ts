// The scale bench's background paths: the plan sync's CPU (workerd's own, from /proc), the largest
// value in the edge cache, and the subscriber consumer's batch time.
import { readFileSync } from "node:fs";
import { v7 as uuidv7 } from "uuid";
import type { GenerateOptions } from "../generate-plans.ts";
import { generatePlanDocument } from "../generate-plans.ts";
import type { AppInstance } from "../miniflare-app.ts";
import { cacheKv } from "../miniflare-app.ts";
import type { PathDef } from "./scale-path-kit.ts";
import { kvKeys } from "./scale-path-kit.ts";

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

const documents = new Map<number, string>();
const changed = (shift: number) => documents.get(shift) ?? documents.set(shift, changedDocument(shift)).get(shift)!;

/**
 * Syncs through POST /v1/admin/plans/sync (the cron's sync). Setup syncs the current document (into
 * this instance's empty KV, the index is published). The changed path then syncs documents with 1 %
 * of the plans changed (a new shift each time, so each changes 50 plans); the unchanged path first
 * syncs the document back, then syncs it unchanged. The stand-in serves the generated document
 * without an ETag (a full download and parse every time) and the changed ones with one.
 */
function syncPath(kind: "changed" | "unchanged"): PathDef {
  const label = kind === "changed" ? "1 % changed" : "unchanged document";
  return {
    name: `sync, ${label}`,
    warmup: 1,
    samples: () => 3,
    async setup(ctx) {
      ctx.provider.setGenerated(DOCUMENT);
      await runSync(ctx.app, ctx.adminKey, ["ok", "unchanged"]);
      let index: SyncReportBody["index"] = null;
      return {
        async sample(i) {
          let run: SyncRun;
          if (kind === "changed") {
            ctx.provider.setDocuments([changed(i + 1)]);
            run = await runSync(ctx.app, ctx.adminKey, ["ok"]);
            if (run.report.counts.upserted !== DOCUMENT.plans / CHANGED_EVERY)
              throw new Error(`sync: ${run.report.counts.upserted} plans upserted`);
          } else {
            ctx.provider.setGenerated(DOCUMENT);
            run = await runSync(ctx.app, ctx.adminKey, ["unchanged"]);
          }
          index = run.report.index ?? index;
          return { values: { [`sync CPU, ${label}`]: run.cpu_ms, [`sync wall, ${label}`]: run.wall_ms } };
        },
        checks: () => ({ index }),
      };
    },
  };
}

export const SYNC_PATHS = [syncPath("changed"), syncPath("unchanged")];

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
 * Batches of 100 subscriber creates, each handed to the Worker's queue handler directly (as the
 * runtime delivers a batch) and timed until the handler returns; each must ack all 100 and leave 100
 * new rows in Postgres.
 */
export const consumerBatch: PathDef = {
  name: "consumer batch of 100 creates",
  // The first batch opens the isolate's connections and compiles the handler.
  warmup: 1,
  samples: () => 20,
  async setup(ctx) {
    const worker = (await ctx.app.mf.getWorker()) as unknown as QueueHandle;
    return {
      async sample(b) {
        const prefix = `scale-${ctx.runId}-${b}-`;
        const messages = Array.from({ length: 100 }, (_, i) => ({
          id: `${prefix}${i}`,
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
        const ms = performance.now() - started;
        const acked = result.ackAll ? messages.length : result.explicitAcks.length;
        if (result.outcome !== "ok" || acked !== messages.length) throw new Error(`consumer: ${result.outcome}, ${acked} acked`);
        const { rows } = await ctx.pool.query<{ n: number }>(
          "select count(*)::int as n from subscribers where lower(email) = any($1::text[])",
          [messages.map((m) => m.body.subscriber.email.toLowerCase())],
        );
        if (rows[0]!.n !== messages.length) throw new Error(`consumer: ${rows[0]!.n} of ${messages.length} rows stored`);
        return { values: { "consumer batch of 100 creates": ms } };
      },
    };
  },
};
