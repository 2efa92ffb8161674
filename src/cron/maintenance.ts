import { purgeReplayedDeadLetters } from "../db/repositories/dead-letters.ts";
import type { Runtime } from "../runtime.ts";

const DAY_MS = 86_400_000;

/** Hourly housekeeping: drops state whose useful life is over. Each step is idempotent. */
export async function runMaintenance(rt: Runtime, now: Date): Promise<Record<string, number>> {
  const replayedDeadLettersPurged = await purgeReplayedDeadLetters(rt.db(), new Date(now.getTime() - 7 * DAY_MS));
  return { replayed_dead_letters_purged: replayedDeadLettersPurged };
}
