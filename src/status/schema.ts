import { z } from "zod";

/**
 * The operator's status document behind /status and GET /v1/admin/status: time series for a window,
 * each a list of points at a fixed step, plus current values. Every series is computed from durable
 * state (Postgres) or from the per-minute request rollups; the page draws exactly this.
 */
export const STATUS_WINDOWS = {
  hour: { seconds: 3_600, stepSeconds: 60 },
  day: { seconds: 86_400, stepSeconds: 900 },
  week: { seconds: 604_800, stepSeconds: 3_600 },
} as const;
export const StatusWindow = z.enum(["hour", "day", "week"]);
export type StatusWindow = z.infer<typeof StatusWindow>;

/** Unix seconds at the start of each step; every series below has one value per entry, in order. */
const Times = z.array(z.number().int());
const Series = z.array(z.number().nullable());

export const Status = z
  .object({
    window: StatusWindow,
    step_seconds: z.number().int(),
    generated_at: z.iso.datetime(),
    writes: z.object({
      t: Times,
      /** Per minute, averaged over each step. */
      accepted: Series,
      applied: Series,
      superseded: Series,
      failed: Series,
      /** Seconds from the edge's 202 to the outcome in Postgres (operation id time → completed_at). */
      lag_p50_s: Series,
      lag_p95_s: Series,
      lag_p99_s: Series,
      dead_letters_waiting: z.number().int(),
    }),
    requests: z.object({
      t: Times,
      groups: z.array(
        z.object({
          group: z.string().meta({ description: "subscribers, plans, search, admin, webhooks, web, health, other" }),
          per_minute: Series,
          error_rate: Series.meta({ description: "5xx share, 0–1" }),
          p50_ms: Series,
          p99_ms: Series,
          cache_hit_ratio: Series.meta({ description: "hits over cache lookups, 0–1; null without lookups" }),
        }),
      ),
    }),
    plans: z.object({
      syncs: z.array(
        z.object({
          at: z.number().int(),
          duration_ms: z.number().int(),
          outcome: z.string(),
          plans_changed: z.number().int(),
          breaker: z.enum(["closed", "open", "half_open", "unknown"]),
        }),
      ),
      seconds_since_last_good_sync: z.number().int().nullable(),
      breaker_state: z.enum(["closed", "open", "half_open", "unknown"]),
      search_index: z.object({ generation: z.string().nullable(), plans: z.number().int().nullable(), bytes: z.number().int().nullable() }),
    }),
    subscribers: z.object({
      /** Day starts (Unix seconds) over the window, at least the last 7 days. */
      days: Times,
      created_per_day: Series,
      by_status: z.record(z.string(), z.number().int()),
    }),
    webhooks: z.object({
      t: Times,
      deliveries_per_minute: Series,
      failure_rate: Series,
      endpoints_total: z.number().int(),
      endpoints_disabled: z.number().int(),
      pending: z.number().int(),
    }),
  })
  .meta({ id: "Status" });
export type Status = z.infer<typeof Status>;
