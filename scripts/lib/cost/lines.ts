// Reading billable units off the app's log lines (src/lib/meter.ts names them), for npm run cost.
import { readFileSync } from "node:fs";
import { ConfigSchema } from "../../../src/config/schema.ts";
import type { OperationUnits, UnitCounts } from "./bill.ts";

type Line = Record<string, unknown>;

export function sumOf(lines: Line[], units: string[]): UnitCounts {
  const out: Record<string, number> = {};
  for (const u of units) out[u] = lines.reduce((s, l) => s + Number(l[u] ?? 0), 0);
  return out as unknown as UnitCounts;
}

export function per(total: UnitCounts, n: number): UnitCounts {
  return Object.fromEntries(Object.entries(total).map(([u, v]) => [u, n > 0 ? v / n : 0])) as unknown as UnitCounts;
}

/** The mean of each unit over `lines`, one invocation each. */
export function average(lines: Line[], units: string[], invocationsPerLine: number): OperationUnits {
  return { ...per(sumOf(lines, units), lines.length), invocations: lines.length > 0 ? invocationsPerLine : 0, samples: lines.length };
}

/** Which level answered a read, from what it spent: Postgres, else KV, else the Cache API, else memory. */
export function classifyRead(l: Line): "read_miss" | "read_kv" | "read_cache_api" | "read_memory" {
  if (Number(l.db_round_trips) > 0) return "read_miss";
  if (Number(l.kv_reads) > 0) return "read_kv";
  if (Number(l.cache_matches) > 0) return "read_cache_api";
  return "read_memory";
}

/**
 * Production's sampling: wrangler.toml's top-level [vars] where they set it, else the config's
 * defaults (src/config/schema.ts): the share of successful requests whose log lines are kept, and
 * of their Analytics Engine points (one in METRICS_SAMPLE_INTERVAL).
 */
export function productionSampling(toml = readFileSync("wrangler.toml", "utf8")): { log: number; ae: number } {
  const top = toml.split(/^\[env\./m)[0] ?? toml;
  const v = (name: "LOG_SAMPLE_RATE" | "METRICS_SAMPLE_INTERVAL") =>
    Number(top.match(new RegExp(`^${name}\\s*=\\s*"?([0-9.]+)"?`, "m"))?.[1] ?? ConfigSchema.shape[name].parse(undefined));
  return { log: v("LOG_SAMPLE_RATE"), ae: 1 / v("METRICS_SAMPLE_INTERVAL") };
}
