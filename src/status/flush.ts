import type { Config } from "../config/index.ts";
import { createDb } from "../db/client.ts";
import { insertRequestRollups } from "../db/repositories/request-rollups.ts";
import type { Logger } from "../lib/log.ts";
import { errorMessage } from "../lib/log.ts";
import type { RollupRow } from "./rollup.ts";

/**
 * Writes finished minutes taken from this isolate's memory (plain rows, copied out by takeDueRows)
 * on a database pool of its own, opened and closed here: it runs in the waitUntil of the request that
 * found the flush due, after that request's own runtime may already be disposed, and shares nothing
 * with any other request. A failed write is logged and the rows are dropped: metrics never retry.
 */
export async function flushRollups(config: Config, log: Logger, rows: RollupRow[]): Promise<void> {
  const handle = createDb(config);
  try {
    await insertRequestRollups(handle.db, rows);
  } catch (err) {
    log.warn("request_rollups_dropped", { rows: rows.length, error: errorMessage(err) });
  } finally {
    await handle.close().catch(() => {});
  }
}
