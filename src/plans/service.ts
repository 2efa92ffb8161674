import { z } from "zod";
import { readThrough } from "../cache/read-through.ts";
import type { CacheOutcome } from "../cache/read-through.ts";
import { findSearchablePlan, latestSyncRun, listPlanPage, zonesOfPlans } from "../db/repositories/plans.ts";
import { AppError } from "../http/errors.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { log } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { isoLocal, planCacheKeys, toPlanView } from "./model.ts";
import type { PlanView } from "./model.ts";
import { loadSearchIndex } from "./search-index.ts";
import type { SearchRange } from "./search.ts";
import { ProviderError } from "../providers/errors.ts";
import { syncPlans } from "./sync.ts";
import type { SyncReport, SyncTrigger } from "./sync.ts";

const TTL = { plan: 300, page: 60 } as const;

/**
 * Cache entries for /v1/plans are namespaced by the search index's generation: a sync that changes
 * anything publishes a new generation, so stale entries are simply never read again (and expire).
 */
async function generation(rt: Runtime): Promise<string> {
  return (await loadSearchIndex(rt))?.memo.index.generation ?? "cold";
}

export async function getPlan(rt: Runtime, id: string): Promise<{ value: PlanView; cache: CacheOutcome }> {
  const { value, cache } = await readThrough<PlanView>(
    rt.cache,
    planCacheKeys.plan(await generation(rt), id),
    async () => {
      const row = await findSearchablePlan(rt.db(), id);
      return row && toPlanView(row, await zonesOfPlans(rt.db(), [row.id]));
    },
    { hitSeconds: TTL.plan, missingSeconds: 60 },
  );
  if (!value) throw new AppError("not_found", `No plan with id ${id}.`);
  return { value, cache };
}

const CursorSchema = z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/), z.uuid()]);

const encodeCursor = (startsAt: string, id: string) =>
  btoa(JSON.stringify([startsAt, id])).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

function decodeCursor(cursor: string): { startsAt: string; id: string } {
  try {
    const [startsAt, id] = CursorSchema.parse(JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))));
    // A real calendar instant (2021-02-30 has the shape but not the date): Date would roll it over,
    // Postgres would refuse it.
    if (new Date(`${startsAt}Z`).toISOString().slice(0, 19) !== startsAt) throw new Error("not a calendar date-time");
    return { startsAt, id };
  } catch {
    throw new AppError("validation_failed", "The cursor is not valid; use meta.next_cursor from a previous page.", {
      errors: [{ field: "query.cursor", message: "invalid cursor" }],
    });
  }
}

export interface PlanPage {
  data: PlanView[];
  nextCursor: string | null;
}

/** Keyset pages over searchable plans in start order, with zones; cached per generation and query. */
export async function listPlans(rt: Runtime, q: SearchRange & { limit: number; cursor: string | undefined }): Promise<{ value: PlanPage; cache: CacheOutcome }> {
  const after = q.cursor ? decodeCursor(q.cursor) : null;
  const key = planCacheKeys.page(await generation(rt), await sha256Hex(JSON.stringify([q.from, q.to, q.limit, q.cursor ?? null])));
  const { value, cache } = await readThrough<PlanPage>(
    rt.cache,
    key,
    async () => {
      const db = rt.db();
      const rows = await listPlanPage(db, { from: q.from, to: q.to, limit: q.limit + 1, after });
      const page = rows.slice(0, q.limit);
      const zones = await zonesOfPlans(db, page.map((r) => r.id));
      const byPlan = Map.groupBy(zones, (z) => z.planId);
      const last = page.at(-1);
      return {
        data: page.map((r) => toPlanView(r, byPlan.get(r.id) ?? [])),
        nextCursor: rows.length > q.limit && last ? encodeCursor(isoLocal(last.startsAt), last.id) : null,
      };
    },
    { hitSeconds: TTL.page, missingSeconds: 0 },
  );
  return { value: value ?? { data: [], nextCursor: null }, cache };
}

/** Admin-triggered sync: the run's one log line is written here (cron runs log via the cron handler). */
export async function runPlanSync(rt: Runtime, trigger: SyncTrigger): Promise<SyncReport> {
  try {
    const report = await syncPlans(rt, trigger);
    log("info", "plan_sync", flattenReport(report), rt.config.logLevel);
    return report;
  } catch (err) {
    log("error", "plan_sync", { trigger, outcome: "failed", error: err instanceof Error ? err.message : String(err) });
    if (!(err instanceof ProviderError)) throw err;
    const opts = { retryAfterSeconds: err.retryAfterSeconds, extra: { provider_failure: err.failure }, cause: err };
    throw err.failure === "circuit_open"
      ? new AppError("service_unavailable", `The plan provider is not being called right now: ${err.message}.`, opts)
      : new AppError("bad_gateway", `The plan provider could not be read: ${err.message}.`, opts);
  }
}

export function flattenReport(r: SyncReport): Record<string, unknown> {
  return { run_id: r.id, trigger: r.trigger, outcome: r.outcome, ms: r.ms, attempts: r.attempts, ...r.counts, bytes: r.document.bytes, index_plans: r.index?.plans ?? null };
}

export async function lastSyncReport(rt: Runtime): Promise<SyncReport> {
  const row = await latestSyncRun(rt.db());
  if (!row) throw new AppError("not_found", "No plan sync has run yet.");
  return row.report as SyncReport;
}
