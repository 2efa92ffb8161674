import { desc, eq, inArray, sql } from "drizzle-orm";
import type { Executor, Reader, Transaction } from "../client.ts";
import { planSyncRuns } from "../schema.ts";

/** The plan sync's runs (plan_sync_runs): the lock that keeps them one at a time, their reports and outcomes. */

export type SyncRunRow = typeof planSyncRuns.$inferSelect;

/**
 * ok: a new document was stored; unchanged: its bytes equal the last applied one (nothing written);
 * not_modified: the provider answered 304; skipped: another sync held the lock; failed.
 */
export const SYNC_OUTCOMES = ["ok", "unchanged", "not_modified", "skipped", "failed"] as const;
export type SyncOutcome = (typeof SYNC_OUTCOMES)[number];

/** Outcomes that mean the stored plans match the provider: a new document, the same bytes, or a 304. */
export const GOOD_SYNC_OUTCOMES: readonly SyncOutcome[] = ["ok", "unchanged", "not_modified"];

// Any constant shared by every sync; transaction-scoped, so a crashed run can never leave it held.
const PLAN_SYNC_LOCK = 727_001;

/** One sync at a time: false when another run holds the lock (this one then does nothing). */
export async function tryLockPlanSync(tx: Transaction): Promise<boolean> {
  const res = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${PLAN_SYNC_LOCK}) as locked`);
  return res.rows[0]?.locked === true;
}

export async function insertSyncRun(db: Executor, row: typeof planSyncRuns.$inferInsert): Promise<void> {
  await db.insert(planSyncRuns).values(row);
}

/** Completes a stored report with what happened after commit (the index publication). */
export async function updateSyncRunReport(db: Executor, id: string, report: unknown): Promise<void> {
  await db.update(planSyncRuns).set({ report }).where(eq(planSyncRuns.id, id));
}

/** Id of the last run that changed stored plans: the generation the search index should show. */
export async function lastChangingSyncRunId(db: Executor): Promise<string | null> {
  const [row] = await db
    .select({ id: planSyncRuns.id })
    .from(planSyncRuns)
    .where(eq(planSyncRuns.outcome, "ok" satisfies SyncOutcome))
    .orderBy(desc(planSyncRuns.finishedAt))
    .limit(1);
  return row?.id ?? null;
}

export async function latestSyncRun(db: Reader): Promise<SyncRunRow | undefined> {
  const [row] = await db.select().from(planSyncRuns).orderBy(desc(planSyncRuns.finishedAt)).limit(1);
  return row;
}

/** The last run that read a document (or was told it had not changed): its validators and hash. */
export async function lastAppliedSyncRun(db: Reader): Promise<SyncRunRow | undefined> {
  const [row] = await db
    .select()
    .from(planSyncRuns)
    .where(inArray(planSyncRuns.outcome, GOOD_SYNC_OUTCOMES))
    .orderBy(desc(planSyncRuns.finishedAt))
    .limit(1);
  return row;
}
