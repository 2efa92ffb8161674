import { purgeReplayedDeadLetters } from "../db/repositories/dead-letters.ts";
import { purgeOperations } from "../db/repositories/operations.ts";
import { purgeRequestRollups } from "../db/repositories/request-rollups.ts";
import { purgeTombstones } from "../db/repositories/subscriber-history.ts";
import type { Runtime } from "../runtime.ts";

const DAY_MS = 86_400_000;

/** Hourly housekeeping: drops state whose useful life is over. Each step is idempotent. */
export async function runMaintenance(rt: Runtime, now: Date): Promise<Record<string, number>> {
  const db = rt.db();
  const replayedDeadLettersPurged = await purgeReplayedDeadLetters(db, new Date(now.getTime() - 7 * DAY_MS));
  // Operation outcomes are for clients polling a recent write; a month is far beyond any retry.
  const operationsPurged = await purgeOperations(db, new Date(now.getTime() - 30 * DAY_MS));
  // A tombstone must outlive every message that could still name its subscriber: a queue keeps a
  // message at most 14 days, retries take at most 46 h (docs/api.md "Erasure").
  const tombstonesPurged = await purgeTombstones(db, new Date(now.getTime() - 30 * DAY_MS));
  // Request rollups feed the status page's longest window (a week) and the metrics histograms.
  const requestRollupsPurged = await purgeRequestRollups(db, new Date(now.getTime() - 8 * DAY_MS));
  return {
    request_rollups_purged: requestRollupsPurged,
    replayed_dead_letters_purged: replayedDeadLettersPurged,
    operations_purged: operationsPurged,
    tombstones_purged: tombstonesPurged,
  };
}
