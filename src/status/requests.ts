import type { RequestCell } from "../db/analytics-engine.ts";
import { requestCells } from "../db/analytics-engine.ts";
import type { RequestStep, StepRange } from "../db/repositories/status.ts";
import { requestsPerStep } from "../db/repositories/status.ts";
import type { Runtime } from "../runtime.ts";
import { LATENCY_BOUNDS_MS } from "./rollup.ts";

/** What /v1/admin/metrics sums over without a window: the rollups' retention (8 days), also in Analytics Engine. */
const KEPT_MS = 8 * 86_400_000;

/**
 * Request series per route group and step. Where the Analytics Engine SQL API is configured
 * (production), from the data points every request may write (sampled, weighted back); elsewhere
 * from the Postgres rollups the isolates flush. Without a range: everything kept, as one step.
 */
export async function requestSeries(rt: Runtime, r: StepRange | null, now = Date.now()): Promise<RequestStep[]> {
  const api = rt.config.analyticsSql;
  if (!api) return requestsPerStep(rt.reader(), r);
  const range = r ?? { startMs: now - KEPT_MS, endMs: now + 60_000, stepMs: KEPT_MS + 60_000 };
  return stepsOfCells(await requestCells(api, range));
}

/**
 * Folds rows per (group, step, latency bucket) into one step per (group, step) with its histogram,
 * as requestsPerStep answers from the rollups. A bucket outside the histogram (a point written by a
 * later layout) counts in +Inf.
 */
export function stepsOfCells(cells: readonly RequestCell[]): RequestStep[] {
  const buckets = LATENCY_BOUNDS_MS.length + 1;
  const steps = new Map<string, RequestStep>();
  for (const c of cells) {
    if (!c.route_group || !(c.n > 0)) continue;
    const key = `${c.route_group} ${c.b}`;
    let s = steps.get(key);
    if (!s) {
      s = {
        group: c.route_group,
        b: c.b,
        count: 0,
        errors: 0,
        lookups: 0,
        hits: 0,
        sum_ms: 0,
        buckets: new Array<number>(buckets).fill(0),
      };
      steps.set(key, s);
    }
    s.count += c.n;
    s.errors += c.errors;
    s.lookups += c.lookups;
    s.hits += c.hits;
    s.sum_ms += c.sum_ms;
    const i = Number.isInteger(c.bucket) && c.bucket >= 0 && c.bucket < buckets ? c.bucket : buckets - 1;
    s.buckets[i]! += c.n;
  }
  return [...steps.values()].sort((a, b) => (a.group === b.group ? a.b - b.b : a.group < b.group ? -1 : 1));
}
