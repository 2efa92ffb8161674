import { readCounters } from "../db/repositories/counters.ts";
import type { StepRange } from "../db/repositories/status.ts";
import {
  acceptedPerStep,
  countWaitingDeadLetters,
  countWebhookDeliveriesByStatus,
  lastGoodSyncAt,
  outcomesPerStep,
  searchIndexOfRun,
  subscribersCreatedPerDay,
  syncRunsSince,
  webhookAttemptsPerStep,
  webhookEndpointCounts,
} from "../db/repositories/status.ts";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";
import { isUuid } from "../lib/ids.ts";
import { publishedIndexGeneration } from "../plans/index.ts";
import type { BreakerState } from "../providers/client.ts";
import { readBreakerState } from "../providers/client.ts";
import type { Runtime } from "../runtime.ts";
import { requestSeries } from "./requests.ts";
import { histogramQuantile, ROUTE_GROUPS } from "./rollup.ts";
import type { Status, StatusWindow } from "./schema.ts";
import { STATUS_WINDOWS } from "./schema.ts";

const DAY_S = 86_400;

type StatusBreaker = Status["plans"]["breaker_state"];

/** The status page's four breaker states: "isolated" (held open by hand) shows as open. */
export function breakerOf(state: string | null | undefined): StatusBreaker {
  if (state === "closed" || state === "open" || state === "half_open") return state;
  return state === "isolated" ? "open" : "unknown";
}

/** The window's steps: `n` steps of `stepMs` ending with the one `now` falls in. */
function windowSteps(window: StatusWindow, now: number): StepRange & { n: number; t: number[] } {
  const { seconds, stepSeconds } = STATUS_WINDOWS[window];
  const stepMs = stepSeconds * 1000;
  const n = seconds / stepSeconds;
  const endMs = (Math.floor(now / stepMs) + 1) * stepMs;
  const startMs = endMs - n * stepMs;
  return { startMs, endMs, stepMs, n, t: Array.from({ length: n }, (_, i) => (startMs + i * stepMs) / 1000) };
}

/** One value per step from sparse rows `{ b, … }`; steps without a row get `empty`. */
function series<R extends { b: number }>(
  n: number,
  rows: R[],
  value: (row: R) => number | null,
  empty: number | null = 0,
): Array<number | null> {
  const out = new Array<number | null>(n).fill(empty);
  for (const row of rows) if (row.b >= 0 && row.b < n) out[row.b] = value(row);
  return out;
}

const round = (v: number | null, digits = 3) => (v === null || !Number.isFinite(v) ? null : Math.round(v * 10 ** digits) / 10 ** digits);

/**
 * The status document for a window (src/status/schema.ts), from Postgres (operations, dead letters,
 * sync runs, subscribers, webhooks, request rollups) and the edge cache (breaker, index generation).
 * Rates are per minute, averaged over each step; the current step is partial.
 */
export async function getStatus(rt: Runtime, window: StatusWindow, now = Date.now()): Promise<Status> {
  const db = rt.reader();
  const steps = windowSteps(window, now);
  const perMinute = 60_000 / steps.stepMs;
  const daysFrom = (Math.floor(now / 1000 / DAY_S) - 6) * DAY_S;
  const [accepted, outcomes, deadLetters, requests, syncs, lastGood, breaker, generation, created, byStatus, attempts, endpoints, pending] =
    await Promise.all([
      acceptedPerStep(db, steps),
      outcomesPerStep(db, steps),
      countWaitingDeadLetters(db),
      requestSeries(rt, steps, now),
      syncRunsSince(db, steps.startMs),
      lastGoodSyncAt(db),
      readBreakerState(rt, rt.config.provider).catch((): BreakerState | null => null),
      publishedIndexGeneration(rt),
      subscribersCreatedPerDay(db, daysFrom * 1000),
      readCounters(db).then((c) => c.subscribers),
      webhookAttemptsPerStep(db, steps),
      webhookEndpointCounts(db),
      countPendingDeliveries(rt),
    ]);
  const index = generation && isUuid(generation) ? await searchIndexOfRun(db, generation) : null;
  const rate = (v: number) => round(v * perMinute);
  const days = Array.from({ length: 7 }, (_, i) => daysFrom + i * DAY_S);
  const createdByDay = new Map(created.map((r) => [r.day, r.n]));

  return {
    window,
    step_seconds: steps.stepMs / 1000,
    generated_at: new Date(now).toISOString(),
    writes: {
      t: steps.t,
      accepted: series(steps.n, accepted, (r) => rate(r.n)),
      applied: series(steps.n, outcomes, (r) => rate(r.applied)),
      superseded: series(steps.n, outcomes, (r) => rate(r.superseded)),
      failed: series(steps.n, outcomes, (r) => rate(r.failed)),
      lag_p50_s: series(steps.n, outcomes, (r) => round(r.lag?.[0] ?? null), null),
      lag_p95_s: series(steps.n, outcomes, (r) => round(r.lag?.[1] ?? null), null),
      lag_p99_s: series(steps.n, outcomes, (r) => round(r.lag?.[2] ?? null), null),
      dead_letters_waiting: deadLetters,
    },
    requests: {
      t: steps.t,
      groups: ROUTE_GROUPS.map((group) => {
        const rows = requests.filter((r) => r.group === group);
        return {
          group,
          per_minute: series(steps.n, rows, (r) => rate(r.count)),
          error_rate: series(steps.n, rows, (r) => round(r.errors / r.count, 4), null),
          p50_ms: series(steps.n, rows, (r) => round(histogramQuantile(0.5, r.buckets), 1), null),
          p99_ms: series(steps.n, rows, (r) => round(histogramQuantile(0.99, r.buckets), 1), null),
          cache_hit_ratio: series(steps.n, rows, (r) => (r.lookups > 0 ? round(r.hits / r.lookups, 4) : null), null),
        };
      }),
    },
    plans: {
      syncs: syncs.map((s) => ({
        at: s.at,
        duration_ms: s.duration_ms,
        outcome: s.outcome,
        plans_changed: s.plans_changed,
        breaker: s.breaker ? breakerOf(s.breaker) : s.failure === "circuit_open" ? "open" : "unknown",
      })),
      seconds_since_last_good_sync: lastGood ? Math.max(0, Math.floor((now - lastGood.getTime()) / 1000)) : null,
      breaker_state: breakerOf(breaker),
      search_index: { generation: generation ?? null, plans: index?.plans ?? null, bytes: index?.bytes ?? null },
    },
    subscribers: {
      days,
      created_per_day: days.map((d) => createdByDay.get(d) ?? 0),
      by_status: Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, byStatus[s] ?? 0])),
    },
    webhooks: {
      t: steps.t,
      deliveries_per_minute: series(steps.n, attempts, (r) => rate(r.n)),
      failure_rate: series(steps.n, attempts, (r) => round(r.failed / r.n, 4), null),
      endpoints_total: endpoints.total,
      endpoints_disabled: endpoints.disabled,
      pending,
    },
  };
}

async function countPendingDeliveries(rt: Runtime): Promise<number> {
  const byStatus = await countWebhookDeliveriesByStatus(rt.reader());
  return (byStatus.pending ?? 0) + (byStatus.delivering ?? 0);
}
