// What the bench's scenarios share: their types, and helpers to warm up, check and report a run.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Paired } from "./interleave.ts";
import type { LoadResult } from "./load.ts";
import { runLoad } from "./load.ts";
import type { Stack } from "./stack.ts";

export interface BenchOptions {
  quick: boolean;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  /** Length of each latency run at concurrency 1. */
  c1Seconds: number;
  consumerRows: number;
  /** Subscriber events the webhook scenario delivers. */
  webhookEvents: number;
  log: (m: string) => void;
}

export interface Measurement {
  /** req/s for HTTP scenarios, rows/s for the consumer and raw insert, events/s for webhooks. */
  rate: number;
  unit: "req/s" | "rows/s" | "events/s" | "ms";
  p50_ms: number | null;
  p99_ms: number | null;
  /** What the scenario verified about its own run (cache outcomes, statuses, rows stored…). */
  checks: Record<string, unknown>;
  /** Scenario-specific figures that go into latest.json as they are (e.g. ingest_peak_mb). */
  extra?: Record<string, number | null>;
  /** A reference measured inside the scenario itself (target `of: "reference"`), shown as a row of its own. */
  reference?: { label: string; rate: number; unit: "req/s" | "rows/s" };
  /** Latency at concurrency 1 (one request at a time), beside the throughput at opts.connections. */
  c1?: { p50_ms: number; p99_ms: number; rps: number; requests: number };
  /** Ratios to what this scenario is held to, from slices interleaved with it (interleave.ts). */
  paired?: Paired[];
  /** Rows of other scenarios measured as sides of this one (its harness, the baseline, the raw INSERT), by id. */
  also?: Record<string, Measurement>;
}

export interface Target {
  /**
   * What this scenario is held to, in the same run: "baseline" (a trivial-Worker run made just before
   * this scenario), "reference" (measured inside the scenario), or another scenario's id.
   */
  of: string;
  /** Throughput ratio (default), or the ratio of the p50 latencies at concurrency 1. */
  metric?: "rate" | "c1_p50";
  /** Pass when ratio ≥ min (throughput) or ratio ≤ max (latency). */
  min?: number;
  max?: number;
}

export interface Scenario {
  id: string;
  label: string;
  targets?: Target[];
  /** Scenarios whose state this one measures on (e.g. /search on the index the ingest built): `--only` runs them first. */
  needs?: string[];
  /**
   * Measured only as a side of these scenarios, interleaved with them (a harness row, the baseline):
   * not run on its own; its row is the mean of the figures they report for it.
   */
  measuredBy?: string[];
  /** false for a stub whose feature does not exist yet: reported as "not yet available". */
  available?: boolean;
  /** Absent for a scenario measuredBy others. */
  run?(stack: Stack, opts: BenchOptions, runId: string): Promise<Measurement | null>;
}

/** Load specs, shared with scripts/profile.ts so a profile runs exactly the bench's load. */
export type SpecOptions = Pick<BenchOptions, "seconds" | "connections">;

export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

export function http(r: LoadResult, checks: Record<string, unknown> = {}): Measurement {
  return {
    rate: r.rps,
    unit: "req/s",
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    checks: { requests: r.requests, statuses: r.statuses, cache: r.cache, errors: r.errors, ...checks },
  };
}

export function assertOnly(r: Pick<LoadResult, "statuses" | "errors">, allowed: number[], what: string): void {
  const bad = Object.entries(r.statuses).filter(([s]) => !allowed.includes(Number(s)));
  if (bad.length || r.errors) throw new Error(`${what}: unexpected statuses ${JSON.stringify(r.statuses)}, ${r.errors} socket errors`);
}

export async function warm(opts: BenchOptions, spec: Parameters<typeof runLoad>[0]): Promise<void> {
  if (opts.warmupSeconds > 0) await runLoad({ ...spec, seconds: opts.warmupSeconds });
}

export async function waitForCount(
  pool: pg.Pool,
  sql: string,
  params: unknown[],
  want: number,
  timeoutMs: number,
): Promise<{ count: number; ms: number }> {
  const started = performance.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(sql, params);
    const count = rows[0]!.n;
    if (count >= want || performance.now() - started > timeoutMs) return { count, ms: performance.now() - started };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Subscriber create messages as the edge enqueues them, with distinct addresses `<prefix><n>@bench.example.com`. */
export function createMessages(count: number, prefix: string, lastName: string) {
  return Array.from({ length: count }, (_, i) => ({
    type: "subscriber.create" as const,
    v: 1 as const,
    operation_id: randomUUID(),
    requested_at: new Date().toISOString(),
    subscriber: {
      id: randomUUID(),
      email: `${prefix}${i}@bench.example.com`,
      name: "Bench",
      last_name: lastName,
      status: "active" as const,
    },
  }));
}
