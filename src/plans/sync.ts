import {
  insertSyncRun,
  knownPlanHashes,
  lastChangingSyncRunId,
  lastAppliedSyncRun,
  replaceZones,
  touchPlans,
  tryLockPlanSync,
  upsertBasePlans,
  updateSyncRunReport,
  upsertPlans,
} from "../db/repositories/plans.ts";
import type { Executor, NewBasePlanRow, NewPlanRow, ZoneColumns } from "../db/repositories/plans.ts";
import { canonicalJson, sha256Hex } from "../lib/crypto.ts";
import { errorMessage } from "../lib/log.ts";
import { fetchPlanDocument } from "../providers/client.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ProviderFailure } from "../providers/errors.ts";
import { PlanDocumentError, PlanStreamParser } from "../providers/plan-parser.ts";
import type { InvalidPlan } from "../providers/plan-parser.ts";
import type { ProviderPlan } from "../providers/plan-schema.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/service.ts";
import { planUuid } from "./model.ts";
import type { SyncOutcome, SyncReport, SyncTrigger } from "./schema.ts";
import { rebuildSearchIndex, searchIndexGeneration } from "./search-index.ts";

/** Bounds memory and statement size: flush after this many zones or plans. */
const FLUSH_ZONES = 5_000;
const FLUSH_PLANS = 250;
const PLAN_ROWS_PER_STATEMENT = 250;

class SyncSkipped extends Error {}

type Batch = { plans: ProviderPlan[]; zones: number };

async function toRow(p: ProviderPlan): Promise<NewPlanRow & { id: string; contentHash: string }> {
  const prices = p.zones.map((z) => z.price);
  const id = planUuid(p.basePlanId, p.planId);
  return {
    id,
    basePlanId: p.basePlanId,
    planId: p.planId,
    startsAt: p.startsAt,
    endsAt: p.endsAt,
    sellFrom: p.sellFrom,
    sellTo: p.sellTo,
    soldOut: p.soldOut,
    everOnline: p.sellMode === "online",
    minPrice: Math.min(...prices),
    maxPrice: Math.max(...prices),
    zoneCount: p.zones.length,
    // Everything the provider said about the plan, its base plan's fields included.
    contentHash: await sha256Hex(canonicalJson(p)),
  };
}

/** Writes one batch: only plans whose content changed are upserted and get their zones replaced. */
async function storeBatch(tx: Executor, batch: Batch, report: SyncReport, unchanged: string[]): Promise<void> {
  // Within one document the last occurrence of a (base_plan_id, plan_id) wins, like across documents.
  const byId = new Map<string, { plan: ProviderPlan; row: Awaited<ReturnType<typeof toRow>> }>();
  for (const plan of batch.plans) {
    const row = await toRow(plan);
    byId.set(row.id, { plan, row });
  }
  const known = await knownPlanHashes(tx, [...byId.keys()]);
  const changed = [...byId.values()].filter(({ row }) => known.get(row.id) !== row.contentHash);
  for (const { row } of byId.values()) if (known.get(row.id) === row.contentHash) unchanged.push(row.id);
  report.counts.skipped += byId.size - changed.length;
  if (changed.length === 0) return;

  const bases = new Map<string, NewBasePlanRow>();
  for (const { plan } of changed) {
    bases.set(plan.basePlanId, {
      basePlanId: plan.basePlanId,
      title: plan.title,
      sellMode: plan.sellMode,
      organizerCompanyId: plan.organizerCompanyId,
      everOnline: plan.sellMode === "online",
    });
  }
  await upsertBasePlans(tx, [...bases.values()]);
  for (let i = 0; i < changed.length; i += PLAN_ROWS_PER_STATEMENT) {
    await upsertPlans(tx, changed.slice(i, i + PLAN_ROWS_PER_STATEMENT).map((c) => c.row));
  }
  const cols: ZoneColumns = { planId: [], position: [], zoneId: [], name: [], capacity: [], price: [], numbered: [] };
  for (const { plan, row } of changed) {
    plan.zones.forEach((z, position) => {
      cols.planId.push(row.id);
      cols.position.push(position);
      cols.zoneId.push(z.zoneId);
      cols.name.push(z.name);
      cols.capacity.push(z.capacity);
      cols.price.push(z.price);
      cols.numbered.push(z.numbered);
    });
  }
  await replaceZones(tx, changed.map((c) => c.row.id), cols);
  report.counts.upserted += changed.length;
  report.counts.zones_written += cols.planId.length;
}

function emptyReport(trigger: SyncTrigger, started: Date): SyncReport {
  return {
    id: crypto.randomUUID(),
    trigger,
    outcome: "failed",
    started_at: started.toISOString(),
    finished_at: started.toISOString(),
    ms: 0,
    attempts: 0,
    counts: { base_plans: 0, plans_seen: 0, online: 0, upserted: 0, skipped: 0, invalid: 0, zones_written: 0 },
    invalid_samples: [],
    document: { bytes: 0, sha256: null, etag: null, last_modified: null },
    index: null,
    error: null,
  };
}

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One sync: fetch (conditional, resilient) → stream-parse → store changed plans in chunks → publish
 * the search index. Everything a run writes happens in one transaction holding an advisory lock, so
 * overlapping runs cannot interleave and a document that fails half-way (cut short, not XML) leaves
 * the stored plans exactly as they were. Plans are never deleted. The run's report is stored in
 * plan_sync_runs whatever the outcome; on failure the ProviderError is rethrown for the caller.
 */
export async function syncPlans(rt: Runtime, trigger: SyncTrigger): Promise<SyncReport> {
  const started = new Date();
  const t0 = performance.now();
  const report = emptyReport(trigger, started);
  const finish = (outcome: SyncOutcome) => {
    report.outcome = outcome;
    report.finished_at = new Date().toISOString();
    report.ms = Math.round(performance.now() - t0);
  };
  const db = rt.db();
  let failure: unknown;
  try {
    await db.transaction(async (tx) => {
      if (!(await tryLockPlanSync(tx))) throw new SyncSkipped();
      const last = await lastAppliedSyncRun(tx);
      const fetched = await fetchPlanDocument(rt.config.providerUrl, rt.config.provider, rt, {
        etag: last?.etag ?? null,
        lastModified: last?.lastModified ?? null,
      });
      report.attempts = fetched.attempts;
      if (fetched.status === "not_modified") {
        report.document = { bytes: 0, sha256: last?.documentHash ?? null, etag: last?.etag ?? null, last_modified: last?.lastModified ?? null };
        finish("not_modified");
      } else {
        report.document.etag = fetched.validators.etag;
        report.document.last_modified = fetched.validators.lastModified;
        try {
          await ingestStream(tx, fetched.body, report, last?.documentHash ?? null);
        } finally {
          fetched.done();
        }
        const unchangedDoc = last?.documentHash != null && last.documentHash === report.document.sha256;
        finish(unchangedDoc ? "unchanged" : "ok");
      }
      await insertSyncRun(tx, runRow(report));
    });
  } catch (err) {
    if (err instanceof SyncSkipped) {
      finish("skipped");
      return report;
    }
    failure = err;
  }

  if (failure === undefined) {
    // Publish after commit, so the index never shows data a rollback took back. Comparing the
    // published generation with the last changing run also heals an index that failed to publish.
    try {
      const want = report.outcome === "ok" ? report.id : await lastChangingSyncRunId(db);
      if (want !== null && (await searchIndexGeneration(rt)) !== want) {
        report.index = await rebuildSearchIndex(rt, want);
        await updateSyncRunReport(db, report.id, report);
      }
      if (report.outcome === "ok") await forgetStats(rt);
    } catch (err) {
      // The plans are stored; /search falls back to Postgres and the next run publishes again.
      report.index = { plans: 0, bytes: 0, stored: false };
      rt.log.warn("plan_index_publish_failed", { run_id: report.id, error: errorMessage(err) });
    }
    return report;
  }

  finish("failed");
  const providerError = failure instanceof ProviderError ? failure : failure instanceof PlanDocumentError ? new ProviderError("bad_response", failure.message, 60) : null;
  report.error = providerError
    ? { failure: providerError.failure, message: providerError.message }
    : { failure: "database", message: errorMessage(failure) };
  // Best effort: when the database itself is what failed, this fails too and the log line remains.
  await insertSyncRun(db, runRow(report)).catch(() => {});
  throw providerError ?? failure;
}

function runRow(report: SyncReport) {
  return {
    id: report.id,
    trigger: report.trigger,
    outcome: report.outcome,
    startedAt: new Date(report.started_at),
    finishedAt: new Date(report.finished_at),
    documentHash: report.document.sha256,
    etag: report.document.etag,
    lastModified: report.document.last_modified,
    report,
  };
}

/** Reads the body once: bytes go to the SHA-256 digest and, decoded, to the streaming parser. */
async function ingestStream(tx: Executor, body: ReadableStream<Uint8Array>, report: SyncReport, lastHash: string | null): Promise<void> {
  const parser = new PlanStreamParser();
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const unchanged: string[] = [];
  let batch: Batch = { plans: [], zones: 0 };

  const accept = async (plans: ProviderPlan[]) => {
    for (const p of plans) {
      if (p.sellMode === "online") report.counts.online++;
      batch.plans.push(p);
      batch.zones += p.zones.length;
      if (batch.zones >= FLUSH_ZONES || batch.plans.length >= FLUSH_PLANS) {
        const full = batch;
        batch = { plans: [], zones: 0 };
        await storeBatch(tx, full, report, unchanged);
      }
    }
  };

  const reader = body.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        // Dropped connection, body deadline, size cap: the document cannot be had in full.
        throw err instanceof ProviderError ? err : new ProviderError("unavailable", `reading the provider's document failed: ${errorMessage(err)}`, 60);
      }
      if (next.done) break;
      const value = next.value;
      report.document.bytes += value.byteLength;
      await digestWriter.write(value);
      let text: string;
      try {
        text = decoder.decode(value, { stream: true });
      } catch {
        throw new PlanDocumentError("the document is not valid UTF-8");
      }
      await accept(parser.write(text));
    }
    await accept(parser.write(decoder.decode()));
    await accept(parser.end());
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    report.counts.base_plans = parser.counters.basePlans;
    report.counts.plans_seen = parser.counters.plans;
    report.counts.invalid = parser.counters.invalid;
    report.invalid_samples = parser.invalidSamples;
  }
  await storeBatch(tx, batch, report, unchanged);
  await digestWriter.close();
  report.document.sha256 = hex(await digest.digest);
  // An identical document wrote nothing so far; it is not worth a write just to bump last_seen.
  if (report.document.sha256 !== lastHash) {
    for (let i = 0; i < unchanged.length; i += 5_000) await touchPlans(tx, unchanged.slice(i, i + 5_000));
  }
}
