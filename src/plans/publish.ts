import { safeGet } from "../cache/read-through.ts";
import type { Database } from "../db/client.ts";
import { lastChangingSyncRunId, updateSyncRunReport } from "../db/repositories/sync-runs.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/index.ts";
import type { IndexChanges } from "./index-build.ts";
import { rebuildSearchIndex } from "./index-build.ts";
import { planCacheKeys } from "./model.ts";
import type { SyncReport } from "./schema.ts";

/**
 * Publish, after commit, so the index never shows data a rollback took back. Comparing the published
 * generation with the last changing run also heals an index that failed to publish before (then in
 * full: the months that run changed are not known any more). A failure here is not the sync's: the
 * plans are stored, /search falls back to Postgres, and the next run publishes again.
 */
export async function publishSearchIndex(rt: Runtime, db: Database, report: SyncReport, changes: IndexChanges): Promise<void> {
  try {
    const want = report.outcome === "ok" ? report.id : await lastChangingSyncRunId(db);
    if (want !== null && (await safeGet<string>(rt, planCacheKeys.indexGeneration)) !== want) {
      report.index = await rebuildSearchIndex(rt, db, want, report.outcome === "ok" ? changes : null);
      await updateSyncRunReport(db, report.id, report);
    }
    if (report.outcome === "ok") forgetStats();
  } catch (err) {
    // Nothing usable was published; the next run, finding an older manifest, rebuilds in full.
    report.index = {
      plans: 0,
      bytes: 0,
      stored: false,
      rebuild: "full",
      months_rebuilt: 0,
      parts: 0,
      parts_written: 0,
      largest_part_bytes: 0,
      manifest_bytes: 0,
    };
    rt.log.warn("plan_index_publish_failed", { run_id: report.id, error: errorMessage(err) });
  }
}
