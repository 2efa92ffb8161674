// A bench run's figures turned into ratios and verdicts: every target of every scenario, scored
// with the ratio from the slices interleaved with what it is held to (interleave.ts), and the
// ingest's CPU and heap limits.
import type { Paired } from "./interleave.ts";
import type { KeyWriteSnapshot } from "./key-write-rate.ts";
import type { Measurement, Scenario, Target } from "./scenarios.ts";
import { SCENARIOS } from "./scenarios.ts";

export interface BenchRun {
  results: Record<string, Measurement | null>;
  /** Scenarios that threw, with their message (their figures are null, their targets fail). */
  failures: Record<string, string>;
  /** The app's KV writes per key during each scenario (from the KV write shim), by scenario id. */
  kvWrites: Record<string, KeyWriteSnapshot>;
}

/**
 * The row of a scenario measured as a side of others (measuredBy): the mean of their figures for it,
 * each of which is itself summed over that scenario's slices.
 */
export function rowOfSides(sides: Array<{ by: string; m: Measurement }>): Measurement {
  const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;
  const ms = sides.map((x) => x.m);
  const of = (f: (m: Measurement) => number | null) => (ms.every((m) => f(m) !== null) ? mean(ms.map((m) => f(m)!)) : null);
  return {
    rate: Math.round(mean(ms.map((m) => m.rate))),
    unit: ms[0]!.unit,
    p50_ms: of((m) => m.p50_ms),
    p99_ms: of((m) => m.p99_ms),
    c1: ms.find((m) => m.c1)?.c1,
    checks: {
      rates: sides.map((x) => ({
        measured_with: x.by,
        rate: x.m.rate,
        by_slice: x.m.checks.rps_by_slice ?? x.m.checks.rows_per_s_by_slice,
      })),
      ...(sides.length === 1 ? ms[0]!.checks : {}),
      note:
        sides.length > 1 ? "mean of its figures interleaved with each scenario held to it" : "interleaved with the scenario it is held to",
    },
  };
}

/** KV allows one write a second per key: the most any key received within 1 s across the run. */
export const KV_WRITES_PER_KEY_MAX = 1;

export function kvVerdict(run: BenchRun): { max: number | null; by: string | null; pass: boolean | null } {
  const worst = Object.entries(run.kvWrites).sort((a, b) => b[1].max_writes_1s - a[1].max_writes_1s)[0];
  if (!worst) return { max: null, by: null, pass: null };
  return { max: worst[1].max_writes_1s, by: worst[0], pass: worst[1].max_writes_1s <= KV_WRITES_PER_KEY_MAX };
}

export function isScenario(id: string): boolean {
  return SCENARIOS.some((s) => s.id === id);
}

export const rateOf = (run: BenchRun, id: string) => run.results[id]?.rate ?? null;
export const c1p50Of = (run: BenchRun, id: string) => run.results[id]?.c1?.p50_ms ?? null;

export interface Scored {
  scenario: Scenario;
  target: Target;
  /** Median of the per-round ratios of this scenario's figure to its reference's; null when not run. */
  ratio: number | null;
  /** The paired slices it comes from (spread, per-round ratios); null when the scenario reported none. */
  paired: Paired | null;
  pass: boolean | null;
  /** Short name of what it is compared with. */
  versus: string;
}

function score(run: BenchRun, s: Scenario, t: Target): Scored {
  const { results, failures } = run;
  const metric = t.metric ?? "rate";
  // Only a ratio from interleaved slices counts: a scenario that reports none for a target is scored
  // as failing it, not as the quotient of figures measured minutes apart.
  const paired = results[s.id]?.paired?.find((p) => p.of === t.of && p.metric === metric) ?? null;
  const ratio = paired?.ratio ?? null;
  const hasGoal = t.min !== undefined || t.max !== undefined;
  const failed = failures[s.id] !== undefined || (isScenario(t.of) && failures[t.of] !== undefined);
  const unpaired = results[s.id] != null && paired === null;
  const pass =
    hasGoal && (failed || unpaired)
      ? false
      : ratio === null
        ? null
        : t.min !== undefined
          ? ratio >= t.min
          : t.max !== undefined
            ? ratio <= t.max
            : null;
  const versus = `${t.of === "reference" ? "reference" : t.of}${metric === "c1_p50" ? " (c1 p50)" : ""}${unpaired ? " (not paired)" : ""}`;
  return { scenario: s, target: t, ratio, paired, pass, versus };
}

/** Every target of every scenario, in scenario order. */
export const scoreRun = (run: BenchRun): Scored[] => SCENARIOS.flatMap((s) => (s.targets ?? []).map((t) => score(run, s, t)));
export const isTarget = (x: Scored) => x.target.min !== undefined || x.target.max !== undefined;
/** latest.json's key of a target: the scenario's id for its throughput target, with a suffix otherwise. */
export const targetKey = (x: Scored) => (x.target.metric === "c1_p50" ? `${x.scenario.id}_c1_p50` : x.scenario.id);

export interface IngestVerdict {
  measurement: Measurement | null | undefined;
  /** The V8 heap cap the ingest ran under, in MB. */
  heapCapMb: number;
  /** Null when the ingest was not run. */
  pass: boolean | null;
  cpuLimitMs: number;
}

export function ingestVerdict(run: BenchRun, cpuLimitMs: number): IngestVerdict {
  const ingest = run.results.ingest;
  const heapCapMb = Number(ingest?.checks.v8_max_old_space_mb ?? Infinity);
  // Workers' 128 MB is the isolate's heap: the run passes when it completed with V8's heap capped
  // at that size. The RSS growth shown is the whole workerd process (an upper bound, not the limit).
  const pass = ingest?.extra ? (ingest.extra.ingest_cpu_ms ?? 0) <= cpuLimitMs && heapCapMb <= 128 : run.failures.ingest ? false : null;
  return { measurement: ingest, heapCapMb, pass, cpuLimitMs };
}
