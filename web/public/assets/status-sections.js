// @ts-check
// The status document (src/status/schema.ts `Status`, from GET /v1/admin/status) turned into chart
// specs, one list per section of the page. Pure: no DOM, no fetch.
import { count, dayLabel, ms, num, percent, perMinute, seconds, timeLabel } from "./status-format.js";

/**
 * Mirrors `Status` in src/status/schema.ts; the page draws exactly this.
 * @typedef {Array<number | null>} Series
 * @typedef {"closed" | "open" | "half_open" | "unknown"} Breaker
 * @typedef {{ group: string, per_minute: Series, error_rate: Series, p50_ms: Series, p99_ms: Series, cache_hit_ratio: Series }} RequestGroup
 * @typedef {{ at: number, duration_ms: number, outcome: string, plans_changed: number, breaker: Breaker }} SyncRun
 * @typedef {{
 *   window: "hour" | "day" | "week",
 *   step_seconds: number,
 *   generated_at: string,
 *   writes: { t: number[], accepted: Series, applied: Series, superseded: Series, failed: Series, lag_p50_s: Series, lag_p95_s: Series, lag_p99_s: Series, dead_letters_waiting: number },
 *   requests: { t: number[], groups: RequestGroup[] },
 *   plans: { syncs: SyncRun[], seconds_since_last_good_sync: number | null, breaker_state: Breaker, search_index: { generation: string | null, plans: number | null, bytes: number | null } },
 *   subscribers: { days: number[], created_per_day: Series, by_status: Record<string, number> },
 *   webhooks: { t: number[], deliveries_per_minute: Series, failure_rate: Series, endpoints_total: number, endpoints_disabled: number, pending: number },
 * }} Status
 * @typedef {import("./status-chart.js").ChartSpec} ChartSpec
 */

/** Colours that stay apart for most kinds of colour vision (Okabe–Ito), in a fixed order. */
const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f", "#f0e442"];
const OUTCOME_COLOURS = /** @type {Record<string, string>} */ ({
  ok: "#009e73",
  unchanged: "#56b4e9",
  not_modified: "#0072b2",
  skipped: "#7f7f7f",
  failed: "#d55e00",
});
const BREAKER_LEVEL = /** @type {Record<Breaker, number | null>} */ ({ closed: 0, half_open: 1, open: 2, unknown: null });
const BREAKER_NAMES = ["closed", "half open", "open"];
const STATUS_ORDER = ["active", "unconfirmed", "unsubscribed", "bounced", "junk"];

/**
 * @param {Status} s
 * @returns {ChartSpec[]}
 */
export function writesCharts(s) {
  const w = s.writes;
  const xLabel = timeLabel(s.window);
  return [
    {
      id: "writes-rate",
      title: "Writes per minute",
      x: w.t,
      xLabel,
      fmt: perMinute,
      yTick: (v) => num(v),
      series: [
        { label: "accepted", values: w.accepted, color: PALETTE[0] ?? "" },
        { label: "applied", values: w.applied, color: OUTCOME_COLOURS.ok ?? "" },
        { label: "superseded", values: w.superseded, color: PALETTE[1] ?? "" },
        { label: "failed", values: w.failed, color: OUTCOME_COLOURS.failed ?? "" },
      ],
    },
    {
      id: "writes-lag",
      title: "Time from 202 to durable",
      x: w.t,
      xLabel,
      fmt: seconds,
      series: [
        { label: "p50", values: w.lag_p50_s, color: PALETTE[0] ?? "" },
        { label: "p95", values: w.lag_p95_s, color: PALETTE[1] ?? "" },
        { label: "p99", values: w.lag_p99_s, color: PALETTE[5] ?? "" },
      ],
    },
  ];
}

/**
 * One chart per measure, one series per route group.
 * @param {Status} s
 * @returns {ChartSpec[]}
 */
export function requestCharts(s) {
  const { t, groups } = s.requests;
  const xLabel = timeLabel(s.window);
  /**
   * @param {string} id
   * @param {string} title
   * @param {(g: RequestGroup) => Series} pick
   * @param {(v: number) => string} fmt
   * @param {[number, number]} [yRange]
   * @returns {ChartSpec}
   */
  const chart = (id, title, pick, fmt, yRange) => ({
    id,
    title,
    x: t,
    xLabel,
    fmt,
    ...(yRange ? { yRange } : {}),
    series: groups.map((g, i) => ({ label: g.group, values: pick(g), color: PALETTE[i % PALETTE.length] ?? "" })),
  });
  return [
    chart("requests-rate", "Requests per minute", (g) => g.per_minute, perMinute),
    chart("requests-errors", "Error rate (5xx share)", (g) => g.error_rate, percent, [0, 1]),
    chart("requests-p50", "Latency p50", (g) => g.p50_ms, ms),
    chart("requests-p99", "Latency p99", (g) => g.p99_ms, ms),
    chart("requests-cache", "Cache hit ratio", (g) => g.cache_hit_ratio, percent, [0, 1]),
  ];
}

/**
 * Every sync run as a point (duration up, one colour per outcome, plans changed in the legend and
 * the table), and the breaker's state at each run as a step line.
 * @param {Status} s
 * @returns {ChartSpec[]}
 */
export function planCharts(s) {
  const runs = [...s.plans.syncs].sort((a, b) => a.at - b.at);
  const xLabel = (/** @type {number} */ t) =>
    new Date(t * 1000).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const x = runs.map((r) => r.at);
  // "ok" and "failed" always have their place in the legend; other outcomes once they occur.
  const outcomes = [...new Set(["ok", "failed", ...runs.map((r) => r.outcome)])];
  const tally = outcomes.map((o) => `${runs.filter((r) => r.outcome === o).length} ${o}`).join(", ");
  const lastFailed = runs.filter((r) => r.outcome === "failed").at(-1);
  const slowest = runs.reduce((a, r) => Math.max(a, r.duration_ms), 0);
  return [
    {
      id: "plans-syncs",
      title: "Sync runs: duration by outcome",
      x,
      xLabel,
      fmt: ms,
      series: outcomes.map((o, i) => ({
        label: o,
        values: runs.map((r) => (r.outcome === o ? r.duration_ms : null)),
        color: OUTCOME_COLOURS[o] ?? PALETTE[(i + 3) % PALETTE.length] ?? "",
        style: /** @type {const} */ ("points"),
        value: (v, i) => `${ms(v)}, ${runs[i]?.plans_changed ?? 0} plans changed`,
      })),
      summary:
        runs.length === 0
          ? "No sync runs in this window."
          : `${runs.length} sync runs in this window: ${tally}.${lastFailed ? ` Last failed run at ${xLabel(lastFailed.at)}.` : ""} Slowest ${ms(slowest)}.`,
      table: {
        head: ["Time", "Outcome", "Duration", "Plans changed", "Breaker"],
        rows: runs.map((r) => [xLabel(r.at), r.outcome, ms(r.duration_ms), count(r.plans_changed), r.breaker.replace("_", " ")]),
      },
    },
    {
      id: "plans-breaker",
      title: "Provider breaker at each sync",
      x,
      xLabel,
      fmt: (v) => BREAKER_NAMES[v] ?? "unknown",
      yRange: [0, 2],
      ySplits: [0, 1, 2],
      series: [{ label: "breaker", values: runs.map((r) => BREAKER_LEVEL[r.breaker] ?? null), color: PALETTE[5] ?? "", style: "step" }],
      summary:
        runs.length === 0
          ? "No sync runs in this window."
          : `Breaker now ${s.plans.breaker_state.replace("_", " ")}; at the runs: ${[...new Set(runs.map((r) => r.breaker.replace("_", " ")))].join(", ")}.`,
      table: { head: ["Time", "Breaker"], rows: runs.map((r) => [xLabel(r.at), r.breaker.replace("_", " ")]) },
    },
  ];
}

/**
 * @param {Status} s
 * @returns {ChartSpec[]}
 */
export function subscriberCharts(s) {
  const sub = s.subscribers;
  const statuses = [
    ...STATUS_ORDER.filter((k) => k in sub.by_status),
    ...Object.keys(sub.by_status).filter((k) => !STATUS_ORDER.includes(k)),
  ];
  return [
    {
      id: "subscribers-created",
      title: "Subscribers created per day",
      x: sub.days,
      xLabel: dayLabel,
      xHead: "Day",
      fmt: count,
      series: [{ label: "created", values: sub.created_per_day, color: PALETTE[0] ?? "", style: "bars" }],
    },
    {
      id: "subscribers-status",
      title: "Subscribers by status",
      x: statuses.map((_, i) => i),
      xLabel: (i) => statuses[i] ?? "",
      xHead: "Status",
      categorical: true,
      fmt: count,
      series: [{ label: "subscribers", values: statuses.map((k) => sub.by_status[k] ?? 0), color: PALETTE[2] ?? "", style: "bars" }],
    },
  ];
}

/**
 * @param {Status} s
 * @returns {ChartSpec[]}
 */
export function webhookCharts(s) {
  const w = s.webhooks;
  const xLabel = timeLabel(s.window);
  return [
    {
      id: "webhooks-deliveries",
      title: "Webhook deliveries per minute",
      x: w.t,
      xLabel,
      fmt: perMinute,
      yTick: (v) => num(v),
      series: [{ label: "deliveries", values: w.deliveries_per_minute, color: PALETTE[0] ?? "" }],
    },
    {
      id: "webhooks-failures",
      title: "Webhook failure rate",
      x: w.t,
      xLabel,
      fmt: percent,
      yRange: [0, 1],
      series: [{ label: "failed attempts", values: w.failure_rate, color: OUTCOME_COLOURS.failed ?? "" }],
    },
  ];
}
