// HTTP paths and their references measured in interleaved slices (interleave.ts): throughput at
// opts.connections, then latency at concurrency 1, each side's figures summed over its slices and
// every ratio taken round by round.
import type { Paired } from "./interleave.ts";
import { interleave, median, pairedRatio, roundsFor } from "./interleave.ts";
import type { LoadResult, LoadSpec, SequentialResult } from "./load.ts";
import { runLoad, runSequential } from "./load.ts";
import type { BenchOptions, Measurement } from "./scenario-kit.ts";
import { assertOnly, warm } from "./scenario-kit.ts";

export interface HttpSide {
  name: string;
  spec: LoadSpec;
  /** Statuses every response must have. */
  allowed: number[];
  /** Measured at opts.connections (default true) and one request at a time (default false). */
  load?: boolean;
  c1?: boolean;
  /** Run after each of this side's slices, outside its clock (e.g. wait for the queue to drain). */
  after?: () => Promise<void>;
}

export interface HttpSlices {
  load: LoadResult[];
  c1: SequentialResult[];
  /** Seconds of load per slice. */
  sliceSeconds: number;
}

/** Every side warmed, then its throughput slices interleaved with the others', then its c1 slices likewise. */
export async function measureInterleaved(opts: BenchOptions, sides: HttpSide[]): Promise<Record<string, HttpSlices>> {
  const rounds = roundsFor(opts);
  const sliceSeconds = Math.max(1, opts.seconds / rounds);
  const c1Seconds = Math.max(0.5, opts.c1Seconds / rounds);
  for (const s of sides) if (s.load !== false) await warm(opts, s.spec);
  const loadSides = sides.filter((s) => s.load !== false);
  const loads = await interleave(
    rounds,
    loadSides.map((s) => ({
      name: s.name,
      slice: async () => {
        const r = await runLoad({ ...s.spec, seconds: sliceSeconds });
        assertOnly(r, s.allowed, s.name);
        await s.after?.();
        return r;
      },
    })),
  );
  const c1s = await interleave(
    rounds,
    sides
      .filter((s) => s.c1)
      .map((s) => ({
        name: s.name,
        slice: async () => {
          const r = await runSequential({ ...s.spec, seconds: c1Seconds });
          assertOnly({ ...r, errors: 0 }, s.allowed, `${s.name} (c1)`);
          await s.after?.();
          return r;
        },
      })),
  );
  return Object.fromEntries(sides.map((s) => [s.name, { load: loads[s.name] ?? [], c1: c1s[s.name] ?? [], sliceSeconds }]));
}

const sum = (rs: Array<Record<string, number>>) => {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
};

/**
 * One side's Measurement: requests over seconds across its slices; p50/p99 (and the c1 ones) are the
 * medians of the slices' figures, which cannot be merged exactly.
 */
export function measurementOf(s: HttpSlices, checks: Record<string, unknown> = {}): Measurement {
  const requests = s.load.reduce((a, r) => a + r.requests, 0);
  const c1Requests = s.c1.reduce((a, r) => a + r.requests, 0);
  const med = (xs: number[]) => Math.round(median(xs) * 100) / 100;
  return {
    rate: s.load.length ? Math.round(requests / (s.load.length * s.sliceSeconds)) : 0,
    unit: "req/s",
    p50_ms: s.load.length ? med(s.load.map((r) => r.p50_ms)) : null,
    p99_ms: s.load.length ? med(s.load.map((r) => r.p99_ms)) : null,
    checks: {
      requests,
      statuses: sum(s.load.map((r) => r.statuses)),
      cache: sum(s.load.map((r) => r.cache)),
      errors: s.load.reduce((a, r) => a + r.errors, 0),
      rps_by_slice: s.load.map((r) => r.rps),
      ...(s.c1.length ? { c1_cache: sum(s.c1.map((r) => r.cache)) } : {}),
      ...checks,
    },
    ...(s.c1.length
      ? {
          c1: {
            p50_ms: med(s.c1.map((r) => r.p50_ms)),
            p99_ms: med(s.c1.map((r) => r.p99_ms)),
            rps: med(s.c1.map((r) => r.rps)),
            requests: c1Requests,
          },
        }
      : {}),
  };
}

/** The ratio of `mine` to `ref`, slice by slice: throughput, or the p50 latencies at concurrency 1. */
export function pairedOf(of: string, mine: HttpSlices, ref: HttpSlices, metric: Paired["metric"] = "rate"): Paired {
  return metric === "rate"
    ? pairedRatio(
        of,
        metric,
        mine.load.map((r) => r.rps),
        ref.load.map((r) => r.rps),
      )
    : pairedRatio(
        of,
        metric,
        mine.c1.map((r) => r.p50_ms),
        ref.c1.map((r) => r.p50_ms),
      );
}
