import { z } from "zod";
import type { Read } from "../cache/read-through.ts";
import { readThrough } from "../cache/read-through.ts";
import { findSearchablePlan, listPlanPage, zonesOfPlans } from "../db/repositories/plans.ts";
import { latestSyncRun } from "../db/repositories/sync-runs.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { errorMessage } from "../lib/log.ts";
import type { Page } from "../lib/pagination.ts";
import { decodeCursor, encodeCursor, rowsForPage, toPage } from "../lib/pagination.ts";
import { ProviderError } from "../providers/errors.ts";
import type { Runtime } from "../runtime.ts";
import { isoLocal, planCacheKeys, toPlanView } from "./model.ts";
import type { Plan, SyncReport, SyncTrigger } from "./schema.ts";
import type { SearchRange } from "./search.ts";
import { syncPlans } from "./sync.ts";

const TTL = { plan: 300, page: 60 } as const;

/**
 * Cache entries for /v1/plans are namespaced by the search index's generation (the caller reads it
 * with currentSearchGeneration, and may key its own caches by it too): a sync that changes anything
 * publishes a new generation, so stale entries are simply never read again (and expire).
 */
const namespace = (generation: string | null) => generation ?? "cold";

export async function getPlan(rt: Runtime, id: string, generation: string | null): Promise<Read<Plan>> {
  const { value, cache } = await readThrough<Plan>(
    rt,
    planCacheKeys.plan(namespace(generation), id),
    async () => {
      const row = await findSearchablePlan(rt.reader(), id);
      return row && toPlanView(row, await zonesOfPlans(rt.reader(), [row.id]));
    },
    { hitSeconds: TTL.plan, missingSeconds: 60 },
  );
  if (!value) throw new DomainError("not_found", `No plan with id ${id}.`);
  return { value, cache };
}

const PlanCursor = z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/), z.uuid()]);

/** The keyset position in a cursor: a real calendar instant (2021-02-30 has the shape, not the date). */
function cursorPosition(cursor: string): { startsAt: string; id: string } {
  const pos = decodeCursor(cursor, PlanCursor);
  const instant = pos ? new Date(`${pos[0]}Z`) : undefined;
  // Years 0001–9999 only: Postgres has no year 0.
  if (!pos || !instant || Number.isNaN(instant.getTime()) || instant.toISOString().slice(0, 19) !== pos[0] || pos[0].startsWith("0000")) {
    throw new DomainError("validation_failed", "The cursor is not valid; use meta.next_cursor from a previous page.", {
      fields: [{ field: "query.cursor", message: "invalid cursor" }],
    });
  }
  return { startsAt: pos[0], id: pos[1] };
}

/** Keyset pages over searchable plans in start order, with zones; cached per generation and query. */
export async function listPlans(
  rt: Runtime,
  q: SearchRange & { limit: number; cursor: string | undefined },
  generation: string | null,
): Promise<Read<Page<Plan>>> {
  const after = q.cursor ? cursorPosition(q.cursor) : null;
  const key = planCacheKeys.page(namespace(generation), await sha256Hex(JSON.stringify([q.from, q.to, q.limit, q.cursor ?? null])));
  const { value, cache } = await readThrough<Page<Plan>>(
    rt,
    key,
    async () => {
      const db = rt.reader();
      const rows = await listPlanPage(db, { from: q.from, to: q.to, rows: rowsForPage(q.limit), after });
      const zones = await zonesOfPlans(
        db,
        rows.slice(0, q.limit).map((r) => r.id),
      );
      const byPlan = Map.groupBy(zones, (z) => z.planId);
      return toPage(
        rows,
        q.limit,
        (r) => toPlanView(r, byPlan.get(r.id) ?? []),
        (last) => encodeCursor([isoLocal(last.startsAt), last.id]),
      );
    },
    { hitSeconds: TTL.page, missingSeconds: 0 },
  );
  return { value: value ?? { data: [], nextCursor: null, prevCursor: null }, cache };
}

/** Admin-triggered sync: the run's one log line is written here (cron runs log via the cron handler). */
export async function runPlanSync(rt: Runtime, trigger: SyncTrigger): Promise<SyncReport> {
  try {
    const report = await syncPlans(rt, trigger);
    rt.log.info("plan_sync", flattenReport(report));
    return report;
  } catch (err) {
    rt.log.error("plan_sync", { trigger, outcome: "failed", error: errorMessage(err) });
    if (!(err instanceof ProviderError)) throw err;
    const opts = { retryAfterSeconds: err.retryAfterSeconds, extra: { provider_failure: err.failure }, cause: err };
    throw err.failure === "circuit_open"
      ? new DomainError("unavailable", `The plan provider is not being called right now: ${err.message}.`, opts)
      : new DomainError("provider_failed", `The plan provider could not be read: ${err.message}.`, opts);
  }
}

export function flattenReport(r: SyncReport): Record<string, unknown> {
  return {
    run_id: r.id,
    trigger: r.trigger,
    outcome: r.outcome,
    ms: r.ms,
    attempts: r.attempts,
    ...r.counts,
    bytes: r.document.bytes,
    index_plans: r.index?.plans ?? null,
  };
}

export async function lastSyncReport(rt: Runtime): Promise<SyncReport> {
  const row = await latestSyncRun(rt.reader());
  if (!row) throw new DomainError("not_found", "No plan sync has run yet.");
  return row.report as SyncReport;
}
