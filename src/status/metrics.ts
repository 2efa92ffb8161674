import { readCounters } from "../db/repositories/counters.ts";
import {
  countOperationsByStatus,
  countSyncRunsByOutcome,
  countWaitingDeadLetters,
  countWebhookDeliveriesByStatus,
  lagPercentiles,
  lastGoodSyncAt,
  webhookAttemptTotals,
  webhookEndpointCounts,
} from "../db/repositories/status.ts";
import { SYNC_OUTCOMES } from "../db/repositories/sync-runs.ts";
import { OPERATION_OUTCOMES, SUBSCRIBER_STATUSES, WEBHOOK_DELIVERY_STATUSES } from "../db/schema.ts";
import { readBreakerState } from "../providers/client.ts";
import type { Runtime } from "../runtime.ts";
import { requestSeries } from "./requests.ts";
import { LATENCY_BOUNDS_MS, ROUTE_GROUPS } from "./rollup.ts";
import { breakerOf } from "./service.ts";

export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2, unknown: Number.NaN } as const;
const LAG_WINDOW_MS = 5 * 60_000;

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: "gauge" | "counter" | "histogram";
  help: string;
  unit?: string;
  samples: Array<{ suffix?: string; labels?: Labels; value: number }>;
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  return String(v);
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function render(families: Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# TYPE ${f.name} ${f.type}`);
    if (f.unit) lines.push(`# UNIT ${f.name} ${f.unit}`);
    lines.push(`# HELP ${f.name} ${f.help}`);
    for (const s of f.samples) {
      const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`) : [];
      lines.push(`${f.name}${s.suffix ?? ""}${labels.length ? `{${labels.join(",")}}` : ""} ${num(s.value)}`);
    }
  }
  lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

/**
 * GET /v1/admin/metrics: OpenMetrics text derived from durable state at scrape time (Postgres and
 * the breaker kept in the cache), plus the request-duration histograms over the last 8 days
 * (src/status/requests.ts: Analytics Engine or the rollups).
 */
export async function renderMetrics(rt: Runtime, now = Date.now()): Promise<string> {
  const db = rt.reader();
  const [lag, deadLetters, operations, lastGood, syncRuns, breaker, subscribers, deliveries, attempts, endpoints, requests] =
    await Promise.all([
      lagPercentiles(db, now - LAG_WINDOW_MS),
      countWaitingDeadLetters(db),
      countOperationsByStatus(db),
      lastGoodSyncAt(db),
      countSyncRunsByOutcome(db),
      readBreakerState(rt, rt.config.provider).catch(() => null),
      readCounters(db).then((c) => c.subscribers),
      countWebhookDeliveriesByStatus(db),
      webhookAttemptTotals(db),
      webhookEndpointCounts(db),
      requestSeries(rt, null, now),
    ]);
  const orNaN = (v: number | null) => v ?? Number.NaN;
  const families: Family[] = [
    {
      name: "edge_api_write_lag_seconds",
      type: "gauge",
      unit: "seconds",
      help: "Time from the edge's 202 to the write's outcome in Postgres, over operations completed in the last 5 minutes (NaN when none).",
      samples: [
        { labels: { quantile: "0.5" }, value: orNaN(lag.p50) },
        { labels: { quantile: "0.95" }, value: orNaN(lag.p95) },
        { labels: { quantile: "0.99" }, value: orNaN(lag.p99) },
      ],
    },
    {
      name: "edge_api_dead_letters_waiting",
      type: "gauge",
      help: "Dead letters stored and not yet replayed.",
      samples: [{ value: deadLetters }],
    },
    {
      name: "edge_api_operations",
      type: "gauge",
      help: "Write outcomes recorded, by outcome (operations are kept 30 days, so this is a count, not a counter).",
      samples: OPERATION_OUTCOMES.map((o) => ({ labels: { outcome: o }, value: operations[o] ?? 0 })),
    },
    {
      name: "edge_api_plan_sync_age_seconds",
      type: "gauge",
      unit: "seconds",
      help: "Seconds since the last plan sync that left the plans matching the provider (ok, unchanged or not_modified); NaN before the first.",
      samples: [{ value: lastGood ? Math.max(0, (now - lastGood.getTime()) / 1000) : Number.NaN }],
    },
    {
      name: "edge_api_plan_sync_runs",
      type: "counter",
      help: "Plan sync runs recorded, by outcome.",
      samples: SYNC_OUTCOMES.map((o) => ({ suffix: "_total", labels: { outcome: o }, value: syncRuns[o] ?? 0 })),
    },
    {
      name: "edge_api_provider_breaker_state",
      type: "gauge",
      help: "The plan provider's circuit breaker: 0 closed, 1 half-open, 2 open (NaN when it cannot be read).",
      samples: [{ value: BREAKER_VALUE[breakerOf(breaker)] }],
    },
    {
      name: "edge_api_subscribers",
      type: "gauge",
      help: "Subscribers stored, by status.",
      samples: SUBSCRIBER_STATUSES.map((s) => ({ labels: { status: s }, value: subscribers[s] ?? 0 })),
    },
    {
      name: "edge_api_webhook_deliveries",
      type: "gauge",
      help: "Webhook deliveries stored, by status.",
      samples: WEBHOOK_DELIVERY_STATUSES.map((s) => ({ labels: { status: s }, value: deliveries[s] ?? 0 })),
    },
    {
      name: "edge_api_webhook_attempts",
      type: "counter",
      help: "Webhook delivery attempts recorded, by result (failed: no answer or not 2xx).",
      samples: [
        { suffix: "_total", labels: { result: "ok" }, value: attempts.ok },
        { suffix: "_total", labels: { result: "failed" }, value: attempts.failed },
      ],
    },
    {
      name: "edge_api_webhook_endpoints",
      type: "gauge",
      help: "Webhook endpoints, by state.",
      samples: [
        { labels: { state: "enabled" }, value: endpoints.total - endpoints.disabled },
        { labels: { state: "disabled" }, value: endpoints.disabled },
      ],
    },
    {
      name: "edge_api_requests_5xx",
      type: "counter",
      help: "Requests answered with a 5xx, by route group, over the last 8 days (Analytics Engine where configured, else the request rollups).",
      samples: ROUTE_GROUPS.map((g) => ({
        suffix: "_total",
        labels: { group: g },
        value: requests.find((r) => r.group === g)?.errors ?? 0,
      })),
    },
    {
      name: "edge_api_request_duration_seconds",
      type: "histogram",
      unit: "seconds",
      help: "Request latency by route group over the last 8 days: Analytics Engine points weighted back where configured, else the request rollups (flushed once a minute per isolate).",
      samples: ROUTE_GROUPS.flatMap((group) => {
        const row = requests.find((r) => r.group === group);
        const buckets = row?.buckets ?? [];
        let cumulative = 0;
        const samples: Family["samples"] = LATENCY_BOUNDS_MS.map((le, i) => {
          cumulative += buckets[i] ?? 0;
          return { suffix: "_bucket", labels: { group, le: String(le / 1000) }, value: cumulative };
        });
        samples.push({ suffix: "_bucket", labels: { group, le: "+Inf" }, value: row?.count ?? 0 });
        samples.push({ suffix: "_count", labels: { group }, value: row?.count ?? 0 });
        samples.push({ suffix: "_sum", labels: { group }, value: (row?.sum_ms ?? 0) / 1000 });
        return samples;
      }),
    },
  ];
  return render(families);
}
