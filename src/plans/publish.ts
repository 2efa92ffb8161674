import type { Database } from "../db/client.ts";
import { lastChangingSyncRunId, updateSyncRunReport } from "../db/repositories/plans.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/service.ts";
import type { SyncReport } from "./schema.ts";
import { rebuildSearchIndex, searchIndexGeneration } from "./search-index.ts";

/**
 * Publish, after commit, so the index never shows data a rollback took back. Comparing the published
 * generation with the last changing run also heals an index that failed to publish before. A failure
 * here is not the sync's: the plans are stored, /search falls back to Postgres, and the next run
 * publishes again.
 */
export async function publishSearchIndex(rt: Runtime, db: Database, report: SyncReport): Promise<void> {
  try {
    const want = report.outcome === "ok" ? report.id : await lastChangingSyncRunId(db);
    if (want !== null && (await searchIndexGeneration(rt)) !== want) {
      report.index = await rebuildSearchIndex(rt, want);
      await updateSyncRunReport(db, report.id, report);
    }
    if (report.outcome === "ok") forgetStats();
  } catch (err) {
    report.index = { plans: 0, bytes: 0, stored: false };
    rt.log.warn("plan_index_publish_failed", { run_id: report.id, error: errorMessage(err) });
  }
}
