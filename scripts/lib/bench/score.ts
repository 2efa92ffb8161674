// A bench run's figures turned into ratios and verdicts: every target of every scenario, scored
// against what it is held to in the same run, and the ingest's CPU and heap limits.
import type { Measurement, Scenario, Target } from "./scenarios.ts";
import { SCENARIOS } from "./scenarios.ts";

export interface BenchRun {
  results: Record<string, Measurement | null>;
  /** Scenarios that threw, with their message (their figures are null, their targets fail). */
  failures: Record<string, string>;
  /** The baseline's rate measured immediately before each scenario held to it. */
  pairedBaseline: Record<string, number>;
}

export function isScenario(id: string): boolean {
  return SCENARIOS.some((s) => s.id === id);
}

export const rateOf = (run: BenchRun, id: string) => run.results[id]?.rate ?? null;
export const c1p50Of = (run: BenchRun, id: string) => run.results[id]?.c1?.p50_ms ?? null;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export interface Scored {
  scenario: Scenario;
  target: Target;
  /** This scenario's figure over its reference's; null when either was not run. */
  ratio: number | null;
  pass: boolean | null;
  /** Short name of what it is compared with. */
  versus: string;
}

function score(run: BenchRun, s: Scenario, t: Target): Scored {
  const { results, failures, pairedBaseline } = run;
  const rate = (id: string) => rateOf(run, id);
  const c1p50 = (id: string) => c1p50Of(run, id);
  const latency = t.metric === "c1_p50";
  const mine = latency ? c1p50(s.id) : rate(s.id);
  let ref: number | null;
  if (t.of === "baseline") ref = latency ? c1p50("baseline") : (pairedBaseline[s.id] ?? rate("baseline"));
  else if (t.of === "reference") ref = results[s.id]?.reference?.rate ?? null;
  else ref = latency ? c1p50(t.of) : rate(t.of);
  const ratio = mine !== null && ref ? round3(mine / ref) : null;
  const hasGoal = t.min !== undefined || t.max !== undefined;
  const failed = failures[s.id] !== undefined || (isScenario(t.of) && failures[t.of] !== undefined);
  const pass =
    hasGoal && failed ? false : ratio === null ? null : t.min !== undefined ? ratio >= t.min : t.max !== undefined ? ratio <= t.max : null;
  const versus = `${t.of === "reference" ? "reference" : t.of}${latency ? " (c1 p50)" : ""}`;
  return { scenario: s, target: t, ratio, pass, versus };
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
