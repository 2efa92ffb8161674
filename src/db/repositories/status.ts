import { sql } from "drizzle-orm";
import type { Reader } from "../client.ts";
import { GOOD_SYNC_OUTCOMES } from "./sync-runs.ts";

/**
 * The status page's and the metrics endpoint's reads: aggregates over the write, plan, subscriber,
 * webhook and request-rollup tables. Every time series is bucketed in SQL into `b`, the index of a
 * fixed step from the window's start (ms since the epoch), so a week costs a few hundred rows.
 */
export interface StepRange {
  startMs: number;
  endMs: number;
  stepMs: number;
}

const ts = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`;
/** Epoch ms of a UUIDv7: its first 48 bits. */
const uuidMs = (col: ReturnType<typeof sql.raw>) =>
  sql`('x' || substr(${col}::text, 1, 8) || substr(${col}::text, 10, 4))::bit(48)::bigint`;
const epochMs = (col: ReturnType<typeof sql.raw>) => sql`(extract(epoch from ${col}) * 1000)::bigint`;
const bucketOf = (ms: ReturnType<typeof sql>, r: StepRange) => sql`((${ms} - ${r.startMs}::bigint) / ${r.stepMs}::bigint)::int`;

/** The lowest UUIDv7 of a millisecond: ids are compared bytewise, so this bounds an id range by time. */
function uuidFloor(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

/** Writes accepted per step, by the time in the operation id (the edge's 202). */
export async function acceptedPerStep(db: Reader, r: StepRange): Promise<Array<{ b: number; n: number }>> {
  const id = sql.raw("id");
  const res = await db.execute<{ b: number; n: number }>(sql`
    select ${bucketOf(uuidMs(id), r)} as b, count(*)::int as n
    from operations
    where id >= ${uuidFloor(r.startMs)}::uuid and id < ${uuidFloor(r.endMs)}::uuid
    group by 1`);
  return res.rows;
}

export type OutcomeStep = {
  b: number;
  applied: number;
  superseded: number;
  failed: number;
  /** Seconds from the id's time to completed_at, at p50, p95, p99. */
  lag: number[];
};

/** Outcomes per step by completed_at, with the percentiles of their lag (id time → completed_at). */
export async function outcomesPerStep(db: Reader, r: StepRange): Promise<OutcomeStep[]> {
  const id = sql.raw("id");
  const completed = sql.raw("completed_at");
  const res = await db.execute<OutcomeStep>(sql`
    select ${bucketOf(epochMs(completed), r)} as b,
      count(*) filter (where status = 'succeeded')::int as applied,
      count(*) filter (where status = 'superseded')::int as superseded,
      count(*) filter (where status = 'failed')::int as failed,
      percentile_cont(array[0.5, 0.95, 0.99]) within group (order by (${epochMs(completed)} - ${uuidMs(id)}) / 1000.0) as lag
    from operations
    where completed_at >= ${ts(r.startMs)} and completed_at < ${ts(r.endMs)}
    group by 1`);
  return res.rows;
}

/** Lag percentiles (seconds) of the operations completed since `sinceMs`; nulls when none. */
export async function lagPercentiles(db: Reader, sinceMs: number): Promise<{ p50: number | null; p95: number | null; p99: number | null }> {
  const id = sql.raw("id");
  const completed = sql.raw("completed_at");
  const res = await db.execute<{ lag: number[] | null }>(sql`
    select percentile_cont(array[0.5, 0.95, 0.99]) within group (order by (${epochMs(completed)} - ${uuidMs(id)}) / 1000.0) as lag
    from operations where completed_at >= ${ts(sinceMs)}`);
  const lag = res.rows[0]?.lag;
  return { p50: lag?.[0] ?? null, p95: lag?.[1] ?? null, p99: lag?.[2] ?? null };
}

export async function countWaitingDeadLetters(db: Reader): Promise<number> {
  const res = await db.execute<{ n: number }>(sql`select count(*)::int as n from dead_letters where replayed_at is null`);
  return res.rows[0]?.n ?? 0;
}

/** Operation outcomes kept (operations are purged 30 days after completion). */
export async function countOperationsByStatus(db: Reader): Promise<Record<string, number>> {
  const res = await db.execute<{ status: string; n: number }>(sql`select status, count(*)::int as n from operations group by status`);
  return Object.fromEntries(res.rows.map((row) => [row.status, row.n]));
}

export type RequestStep = {
  group: string;
  b: number;
  count: number;
  errors: number;
  lookups: number;
  hits: number;
  sum_ms: number;
  /** Per-bucket counts summed over isolates and minutes, same layout as request_rollups.buckets. */
  buckets: number[];
};

/** Request rollups summed over isolates per route group and step; without a range, over every row kept (one step). */
export async function requestsPerStep(db: Reader, r: StepRange | null): Promise<RequestStep[]> {
  const minute = sql.raw("minute");
  const b = r ? bucketOf(epochMs(minute), r) : sql`0`;
  const where = r ? sql`where minute >= ${ts(r.startMs)} and minute < ${ts(r.endMs)}` : sql``;
  const res = await db.execute<RequestStep>(sql`
    with r as (
      select route_group, ${b} as b, count, errors, cache_lookups, cache_hits, sum_ms, buckets from request_rollups ${where}
    ), h as (
      select route_group, b, array_agg(v order by i) as buckets from (
        select route_group, b, u.i, sum(u.v)::float8 as v
        from r cross join lateral unnest(r.buckets) with ordinality as u(v, i)
        group by 1, 2, 3
      ) x group by 1, 2
    ), t as (
      select route_group, b, sum(count)::float8 as count, sum(errors)::float8 as errors, sum(cache_lookups)::float8 as lookups,
        sum(cache_hits)::float8 as hits, sum(sum_ms)::float8 as sum_ms
      from r group by 1, 2
    )
    select t.route_group as "group", t.b, t.count, t.errors, t.lookups, t.hits, t.sum_ms, h.buckets
    from t join h using (route_group, b)
    order by 1, 2`);
  return res.rows;
}

export type SyncPoint = {
  at: number;
  duration_ms: number;
  outcome: string;
  plans_changed: number;
  breaker: string | null;
  failure: string | null;
};

export async function syncRunsSince(db: Reader, sinceMs: number): Promise<SyncPoint[]> {
  const res = await db.execute<SyncPoint>(sql`
    select extract(epoch from started_at)::bigint::int as at,
      coalesce((report->>'ms')::int, (extract(epoch from finished_at - started_at) * 1000)::int) as duration_ms,
      outcome,
      coalesce((report->'counts'->>'upserted')::int, 0) as plans_changed,
      report->>'breaker' as breaker,
      report->'error'->>'failure' as failure
    from plan_sync_runs where started_at >= ${ts(sinceMs)}
    order by started_at, id`);
  return res.rows;
}

export async function lastGoodSyncAt(db: Reader): Promise<Date | null> {
  const res = await db.execute<{ at: string | null }>(
    sql`select max(finished_at)::text as at from plan_sync_runs where outcome = any(${sql.param(GOOD_SYNC_OUTCOMES)}::text[])`,
  );
  const at = res.rows[0]?.at;
  return at ? new Date(at) : null;
}

export async function countSyncRunsByOutcome(db: Reader): Promise<Record<string, number>> {
  const res = await db.execute<{ outcome: string; n: number }>(
    sql`select outcome, count(*)::int as n from plan_sync_runs group by outcome`,
  );
  return Object.fromEntries(res.rows.map((row) => [row.outcome, row.n]));
}

/** The search index size recorded by the run that built it (its id is the index generation). */
export async function searchIndexOfRun(db: Reader, runId: string): Promise<{ plans: number; bytes: number } | null> {
  const res = await db.execute<{ plans: number | null; bytes: number | null }>(sql`
    select (report->'index'->>'plans')::int as plans, (report->'index'->>'bytes')::int as bytes
    from plan_sync_runs where id = ${runId}::uuid`);
  const row = res.rows[0];
  return row && row.plans !== null && row.bytes !== null ? { plans: row.plans, bytes: row.bytes } : null;
}

/** Subscribers created per UTC day since `sinceMs` (deleted ones are gone, so not counted). */
export async function subscribersCreatedPerDay(db: Reader, sinceMs: number): Promise<Array<{ day: number; n: number }>> {
  const res = await db.execute<{ day: number; n: number }>(sql`
    select extract(epoch from date_trunc('day', created_at at time zone 'UTC'))::bigint::int as day, count(*)::int as n
    from subscribers where created_at >= ${ts(sinceMs)} group by 1`);
  return res.rows;
}

/** Webhook attempts per step; a failure is anything but a 2xx answer (timeouts and refused connections included). */
export async function webhookAttemptsPerStep(db: Reader, r: StepRange): Promise<Array<{ b: number; n: number; failed: number }>> {
  const attempted = sql.raw("attempted_at");
  const res = await db.execute<{ b: number; n: number; failed: number }>(sql`
    select ${bucketOf(epochMs(attempted), r)} as b, count(*)::int as n,
      count(*) filter (where status_code is null or status_code not between 200 and 299)::int as failed
    from webhook_attempts where attempted_at >= ${ts(r.startMs)} and attempted_at < ${ts(r.endMs)}
    group by 1`);
  return res.rows;
}

export async function webhookAttemptTotals(db: Reader): Promise<{ ok: number; failed: number }> {
  const res = await db.execute<{ ok: number; failed: number }>(sql`
    select count(*) filter (where status_code between 200 and 299)::int as ok,
      count(*) filter (where status_code is null or status_code not between 200 and 299)::int as failed
    from webhook_attempts`);
  return res.rows[0] ?? { ok: 0, failed: 0 };
}

export async function webhookEndpointCounts(db: Reader): Promise<{ total: number; disabled: number }> {
  const res = await db.execute<{ total: number; disabled: number }>(sql`
    select count(*)::int as total, count(*) filter (where not enabled)::int as disabled from webhook_endpoints`);
  return res.rows[0] ?? { total: 0, disabled: 0 };
}

export async function countWebhookDeliveriesByStatus(db: Reader): Promise<Record<string, number>> {
  const res = await db.execute<{ status: string; n: number }>(
    sql`select status, count(*)::int as n from webhook_deliveries group by status`,
  );
  return Object.fromEntries(res.rows.map((row) => [row.status, row.n]));
}
