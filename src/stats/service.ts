import { hotCache } from "../cache/hot.ts";
import type { Read } from "../cache/read-through.ts";
import { readCounters } from "../db/repositories/counters.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { Runtime } from "../runtime.ts";
import type { Stats } from "./schema.ts";

/**
 * Counts come from counters that Postgres keeps in the same transaction as every write (migration
 * 0008): one small query, so no edge cache entry to keep coherent and no KV write per consumer
 * batch. An isolate keeps its last answer this long, so a dashboard polling hard costs Postgres at
 * most one query per isolate per interval; the bound is the one the subscriber cache already has
 * after a race (docs/api.md "Cache bounds").
 */
const STATS_HOT_SECONDS = 2;
const KEY = "stats";
/** The last /v1/stats answer, for a couple of seconds. */
const memory = inIsolateMemory(hotCache(1), (c) => c.clear());

export async function getStats(rt: Runtime): Promise<Read<Stats>> {
  const held = memory.get<Stats>(KEY);
  if (held) return { value: held, cache: "hit" };
  const counts = await readCounters(rt.reader());
  const value: Stats = {
    subscribers: { total: Object.values(counts.subscribers).reduce((a, b) => a + b, 0), by_status: counts.subscribers },
    plans: counts.plans,
    generated_at: new Date().toISOString(),
  };
  memory.set(KEY, value, STATS_HOT_SECONDS);
  return { value, cache: "miss" };
}

/** After a change this isolate applied: its own next read counts afresh (other isolates within STATS_HOT_SECONDS). */
export const forgetStats = (): void => memory.clear();
