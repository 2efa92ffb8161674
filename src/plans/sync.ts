import { insertSyncRun, lastAppliedSyncRun, lastChangingSyncRunId, tryLockPlanSync } from "../db/repositories/sync-runs.ts";
import { errorMessage } from "../lib/log.ts";
import { fetchPlanDocument } from "../providers/client.ts";
import { ProviderError } from "../providers/errors.ts";
import { PlanDocumentError } from "../providers/plan-parser.ts";
import type { Runtime } from "../runtime.ts";
import { ingestStream } from "./ingest.ts";
import { publishSearchIndex } from "./publish.ts";
import type { SyncOutcome, SyncReport, SyncTrigger } from "./schema.ts";

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

/**
 * One sync, orchestrated here: fetch (conditional, resilient; src/providers/client.ts) → ingest
 * (stream-parse, store changed plans in chunks; ./ingest.ts) → publish the search index (./publish.ts). Everything a run writes happens in one transaction holding an advisory lock, so
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
  // What the search index must rebuild: the months this run changed, on top of the index of the
  // run that changed plans before it (./index-build.ts).
  const changes = { months: new Set<string>(), previousGeneration: null as string | null };
  let outcome: SyncOutcome;
  try {
    outcome = await db.transaction(async (tx): Promise<SyncOutcome> => {
      // Another run holds the lock: this one writes nothing, not even its report.
      if (!(await tryLockPlanSync(tx))) return "skipped";
      const last = await lastAppliedSyncRun(tx);
      const fetched = await fetchPlanDocument(
        rt.config.providerUrl,
        rt.config.provider,
        rt,
        { etag: last?.etag ?? null, lastModified: last?.lastModified ?? null },
        (state) => {
          report.breaker = state;
        },
      );
      report.attempts = fetched.attempts;
      let result: SyncOutcome;
      if (fetched.status === "not_modified") {
        report.document = {
          bytes: 0,
          sha256: last?.documentHash ?? null,
          etag: last?.etag ?? null,
          last_modified: last?.lastModified ?? null,
        };
        result = "not_modified";
      } else {
        report.document.etag = fetched.validators.etag;
        report.document.last_modified = fetched.validators.lastModified;
        try {
          changes.previousGeneration = await lastChangingSyncRunId(tx);
          await ingestStream(tx, fetched.body, report, last?.documentHash ?? null, changes.months);
        } finally {
          fetched.done();
        }
        result = last?.documentHash != null && last.documentHash === report.document.sha256 ? "unchanged" : "ok";
      }
      finish(result);
      await insertSyncRun(tx, runRow(report));
      return result;
    });
  } catch (err) {
    finish("failed");
    const providerError =
      err instanceof ProviderError ? err : err instanceof PlanDocumentError ? new ProviderError("bad_response", err.message, 60) : null;
    report.error = providerError
      ? { failure: providerError.failure, message: providerError.message }
      : { failure: "database", message: errorMessage(err) };
    // Best effort: when the database itself is what failed, this fails too and the log line remains.
    await insertSyncRun(db, runRow(report)).catch(() => {});
    throw providerError ?? err;
  }
  if (outcome === "skipped") finish("skipped");
  else await publishSearchIndex(rt, db, report, changes);
  return report;
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
