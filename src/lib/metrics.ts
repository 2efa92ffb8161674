import { count } from "./meter.ts";

/**
 * Workers Analytics Engine: one data point per queue batch, cron run, failed request, and sampled
 * successful request (src/lib/sampling.ts). Column layout
 * (query it with SQL as blob1…, double1…):
 *   index1  = kind:name (sampling key)
 *   blob1   = kind ("request" | "queue_batch" | "cron_run")
 *   blob2   = name (route pattern, queue name or cron task)
 *   blob3   = method (requests) or ""
 *   blob4   = outcome: HTTP status class ("2xx"…), or "ok" / "error"
 *   blob5   = cache outcome ("hit" | "miss" | "error" | "")
 *   blob6   = API key id or ""
 *   blob7   = cache level that answered ("memory" | "edge" | "kv" | "database" | "")
 *   blob8   = route group (requests: "subscribers", "plans", … as on the status page) or ""
 *   double1 = latency in ms
 *   double2 = HTTP status (0 for batches and cron runs)
 *   double3 = items (queue messages; 1 otherwise)
 *   double4 = weight: the requests this point stands for (METRICS_SAMPLE_INTERVAL for a sampled
 *             success, 1 otherwise). Count with SUM(_sample_interval * double4): Analytics Engine
 *             samples on its own too, and says so in _sample_interval.
 *   double5 = latency histogram bucket (requests; src/status/rollup.ts LATENCY_BOUNDS_MS), else 0
 */
export interface MetricPoint {
  kind: "request" | "queue_batch" | "cron_run";
  name: string;
  ms: number;
  method?: string;
  status?: number;
  outcome?: string;
  cache?: string | null;
  keyId?: string | null;
  cacheLevel?: string | null;
  items?: number;
  group?: string;
  bucket?: number;
  /** The requests this point stands for (src/lib/sampling.ts metricWeight); 1 when unset. */
  weight?: number;
}

/** Harmless when the binding is absent (tests, a deploy without the dataset) or the write fails. Counted as `ae_points`. */
export function writeMetric(env: Env, p: MetricPoint): void {
  const dataset = (env as Partial<Pick<Env, "METRICS">>).METRICS;
  if (!dataset) return;
  const outcome = p.outcome ?? (p.status !== undefined ? `${Math.floor(p.status / 100)}xx` : "");
  try {
    dataset.writeDataPoint({
      indexes: [`${p.kind}:${p.name}`.slice(0, 96)],
      blobs: [p.kind, p.name, p.method ?? "", outcome, p.cache ?? "", p.keyId ?? "", p.cacheLevel ?? "", p.group ?? ""],
      doubles: [p.ms, p.status ?? 0, p.items ?? 1, p.weight ?? 1, p.bucket ?? 0],
    });
    count("ae_points");
  } catch {
    // Metrics must never fail the work they describe.
  }
}
