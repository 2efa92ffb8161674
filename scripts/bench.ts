// npm run bench [-- --quick] [-- --strict] [-- --only=<id>,…]
// Side-by-side throughput (32 connections) and latency (one request at a time) of the built Worker in
// workerd (Miniflare API, no wrangler dev proxy, LOG_LEVEL=warn) against the real embedded Postgres,
// with a trivial "ok" Worker as the ceiling and, for every path that does I/O, a harness Worker doing
// exactly that I/O and nothing else, so each ratio isolates our own code. Prints the figures and the
// targets, and writes .data/bench/latest.json. Ratios matter more than absolute numbers: the machine
// is shared, so every figure is compared with one measured moments before in the same run.
// --strict exits 1 when a target fails (the default only reports).
// --scale runs the scale bench instead (scripts/lib/bench/scale.ts): cost of each path against data size.
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { unstable_readConfig } from "wrangler";
import type { BenchOptions, Measurement, Scenario, Target } from "./lib/bench/scenarios.ts";
import { SCENARIOS } from "./lib/bench/scenarios.ts";
import { BENCH_DIR, startStack } from "./lib/bench/stack.ts";

const args = new Set(process.argv.slice(2));
if (args.has("--scale")) {
  const { runScale } = await import("./lib/bench/scale.ts");
  process.exit(await runScale(process.argv.slice(2)));
}
const quick = args.has("--quick");
const strict = args.has("--strict");
const opts: BenchOptions = {
  quick,
  seconds: quick ? 5 : 15,
  warmupSeconds: quick ? 1 : 3,
  connections: 32,
  c1Seconds: quick ? 2 : 5,
  // Through Miniflare's queue, one batch at a time: enough batches for a rate, not minutes of them.
  consumerRows: quick ? 2_000 : 3_000,
  webhookEvents: quick ? 500 : 2_000,
  log: (m) => console.log(`[bench] ${m}`),
};
const runId = Date.now().toString(36);
// wrangler.toml [limits] cpu_ms: the sync must fit in it (and in an isolate's 128 MB).
const INGEST_CPU_LIMIT_MS = unstable_readConfig({ config: "wrangler.toml" }, { hideWarnings: true }).limits?.cpu_ms ?? 30_000;
const started = Date.now();

const stack = await startStack({ log: opts.log });
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));

const only = [...args]
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
// A scenario held to another runs with it (`--only=post` still gets its ratio), and so does one whose state it needs.
for (let size = -1; only && size !== only.length; ) {
  size = only.length;
  for (const s of SCENARIOS.filter((x) => only.includes(x.id)))
    for (const dep of [...(s.targets ?? []).map((t) => t.of), ...(s.needs ?? [])])
      if (isScenario(dep) && !only.includes(dep)) only.push(dep);
}
const results: Record<string, Measurement | null> = {};
const failures: Record<string, string> = {};
// Other work shares this machine, so its speed drifts during a run: every scenario with a target
// "× baseline" is compared with a baseline measured immediately before it, not minutes earlier.
const pairedBaseline: Record<string, number> = {};
const baselineRuns: Measurement[] = [];
const baselineScenario = SCENARIOS.find((s) => s.id === "baseline")!;
const show = (m: Measurement) =>
  `${m.rate} ${m.unit}${m.p99_ms !== null ? `, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms` : ""}${m.c1 ? `, c1 p50 ${m.c1.p50_ms} ms, p99 ${m.c1.p99_ms} ms` : ""}  ${JSON.stringify(m.checks)}`;
try {
  for (const s of SCENARIOS) {
    if (s.id === "baseline" || (only && !only.includes(s.id))) continue;
    if (s.targets?.some((t) => t.of === "baseline") && s.available !== false) {
      opts.log(`${baselineScenario.label} (paired with ${s.id}) …`);
      const b = (await baselineScenario.run(stack, opts, runId))!;
      baselineRuns.push(b);
      pairedBaseline[s.id] = b.rate;
      opts.log(`  ${show(b)}`);
    }
    opts.log(`${s.label} …`);
    // One scenario failing (a provider stalling under load, a check not met) must not cost the
    // others' figures: it is reported, its targets fail, and the bench exits 1 at the end.
    try {
      const m = await s.run(stack, opts, runId);
      results[s.id] = m;
      if (m) opts.log(`  ${show(m)}`);
    } catch (err) {
      results[s.id] = null;
      failures[s.id] = err instanceof Error ? err.message.slice(0, 300) : String(err);
      console.error(`[bench] ${s.id} failed:`, err);
    }
  }
  if (baselineRuns.length === 0) baselineRuns.push((await baselineScenario.run(stack, opts, runId))!);
  const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;
  results.baseline = {
    rate: Math.round(mean(baselineRuns.map((b) => b.rate))),
    unit: "req/s",
    p50_ms: mean(baselineRuns.map((b) => b.p50_ms ?? 0)),
    p99_ms: mean(baselineRuns.map((b) => b.p99_ms ?? 0)),
    c1: baselineRuns.find((b) => b.c1)?.c1,
    checks: { runs: baselineRuns.map((b) => b.rate), note: "mean of the baselines paired with each scenario" },
  };
} catch (err) {
  console.error("[bench] failed:", err);
  await stop(1);
}

// ── ratios and targets
function isScenario(id: string): boolean {
  return SCENARIOS.some((s) => s.id === id);
}
const rate = (id: string) => results[id]?.rate ?? null;
const c1p50 = (id: string) => results[id]?.c1?.p50_ms ?? null;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
interface Scored {
  scenario: Scenario;
  target: Target;
  /** This scenario's figure over its reference's; null when either was not run. */
  ratio: number | null;
  pass: boolean | null;
  /** Short name of what it is compared with. */
  versus: string;
}
function score(s: Scenario, t: Target): Scored {
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
const scored = SCENARIOS.flatMap((s) => (s.targets ?? []).map((t) => score(s, t)));
const isTarget = (x: Scored) => x.target.min !== undefined || x.target.max !== undefined;
/** latest.json's key of a target: the scenario's id for its throughput target, with a suffix otherwise. */
const targetKey = (x: Scored) => (x.target.metric === "c1_p50" ? `${x.scenario.id}_c1_p50` : x.scenario.id);

// ── figures table
const ms = (v: number | null | undefined) => (v != null ? `${v} ms` : "");
const ingestScenario = SCENARIOS.find((s) => s.id === "ingest");
const ingest = results.ingest;
const ingestCap = Number(ingest?.checks.v8_max_old_space_mb ?? Infinity);
// Workers' 128 MB is the isolate's heap: the run passes when it completed with V8's heap capped
// at that size. The RSS growth shown is the whole workerd process (an upper bound, not the limit).
const ingestPass = ingest?.extra
  ? (ingest.extra.ingest_cpu_ms ?? 0) <= INGEST_CPU_LIMIT_MS && ingestCap <= 128
  : failures.ingest
    ? false
    : null;
const rows = SCENARIOS.flatMap((s) => {
  const m = results[s.id];
  if (s.id === "ingest" && m?.extra) {
    return [
      {
        scenario: s.label,
        rate: `${m.rate.toLocaleString("en-US")} ms wall`,
        p50: "",
        p99: "",
        c1p50: "",
        c1p99: "",
        ratio: `CPU ${(m.extra.ingest_cpu_ms ?? 0).toLocaleString("en-US")} ms, RSS +${m.extra.ingest_peak_mb} MB, heap cap ${ingestCap} MB`,
      },
    ];
  }
  const row = {
    scenario: s.label,
    rate: m
      ? `${m.rate.toLocaleString("en-US")} ${m.unit}`
      : failures[s.id]
        ? "FAILED (see log)"
        : s.available === false
          ? "not yet available"
          : "not run",
    p50: ms(m?.p50_ms),
    p99: ms(m?.p99_ms),
    c1p50: ms(m?.c1?.p50_ms),
    c1p99: ms(m?.c1?.p99_ms),
    ratio: scored
      .filter((x) => x.scenario === s && x.ratio !== null)
      .map((x) => `${x.ratio!.toFixed(2)} × ${x.versus}`)
      .join("; "),
  };
  // A reference measured inside the scenario gets the row below it, as raw_insert does for the consumer.
  const ref = m?.reference;
  const refRow = ref && {
    ...row,
    scenario: ref.label,
    rate: `${ref.rate.toLocaleString("en-US")} ${ref.unit}`,
    p50: "",
    p99: "",
    c1p50: "",
    c1p99: "",
    ratio: "",
  };
  return refRow ? [row, refRow] : [row];
});
function table<K extends string>(head: Record<K, string>, body: Array<Record<K, string>>): string {
  const cols = Object.keys(head) as K[];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...body.map((r) => r[c].length))])) as Record<K, number>;
  const line = (r: Record<K, string>) =>
    `| ${cols.map((c, i) => (i === 0 ? r[c].padEnd(width[c]) : r[c].padStart(width[c]))).join(" | ")} |`;
  return `${line(head)}\n|${cols.map((c) => "-".repeat(width[c] + 2)).join("|")}|\n${body.map(line).join("\n")}`;
}
console.log(
  `\n${table({ scenario: "scenario", rate: `throughput (c${opts.connections})`, p50: "p50", p99: "p99", c1p50: "c1 p50", c1p99: "c1 p99", ratio: "ratio" }, rows)}\n`,
);

// ── targets table: every target with its figures, met or not
const targetRows = scored.filter(isTarget).map((x) => {
  const latency = x.target.metric === "c1_p50";
  return {
    target: `${x.scenario.id}${latency ? " c1 p50" : ""} vs ${x.versus.replace(" (c1 p50)", "")}`,
    measured: failures[x.scenario.id]
      ? "failed"
      : latency
        ? ms(c1p50(x.scenario.id)) || "not run"
        : rate(x.scenario.id) !== null
          ? `${rate(x.scenario.id)!.toLocaleString("en-US")} ${results[x.scenario.id]!.unit}`
          : "not run",
    ratio: x.ratio !== null ? `${x.ratio.toFixed(2)} ×` : "",
    goal: x.target.min !== undefined ? `≥ ${x.target.min} ×` : `≤ ${x.target.max} ×`,
    result: x.pass === null ? "" : x.pass ? "PASS" : "FAIL",
  };
});
if (ingestScenario && ingestPass !== null)
  targetRows.push({
    target: "ingest CPU and heap",
    measured: ingest?.extra ? `CPU ${(ingest.extra.ingest_cpu_ms ?? 0).toLocaleString("en-US")} ms, heap cap ${ingestCap} MB` : "failed",
    ratio: "",
    goal: `CPU ≤ ${INGEST_CPU_LIMIT_MS / 1000} s, heap ≤ 128 MB`,
    result: ingestPass ? "PASS" : "FAIL",
  });
console.log(`${table({ target: "target", measured: "measured", ratio: "ratio", goal: "target", result: "result" }, targetRows)}\n`);

// ── latest.json
const p99 = (id: string) => results[id]?.p99_ms ?? null;
const c1p99 = (id: string) => results[id]?.c1?.p99_ms ?? null;
const targets = Object.fromEntries(
  scored.filter(isTarget).map((x) => [
    targetKey(x),
    {
      ratio: x.ratio,
      min: x.target.min ?? null,
      max: x.target.max ?? null,
      of: x.target.of,
      metric: x.target.metric ?? "rate",
      pass: x.pass,
    },
  ]),
);
const report = {
  date: new Date().toISOString(),
  quick,
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "",
    node: process.version,
    loadavg_at_end: loadavg().map((l) => Math.round(l * 100) / 100),
  },
  config: {
    seconds: opts.seconds,
    warmup_seconds: opts.warmupSeconds,
    connections: opts.connections,
    c1_seconds: opts.c1Seconds,
    consumer_rows: opts.consumerRows,
    webhook_events: opts.webhookEvents,
  },
  baseline_rps: rate("baseline"),
  baseline_p99_ms: p99("baseline"),
  baseline_c1_p50_ms: c1p50("baseline"),
  baseline_c1_p99_ms: c1p99("baseline"),
  get_hit_rps: rate("get_hit"),
  rollups_on_hit_rps: rate("rollup_cost"),
  rollups_off_hit_rps: results.rollup_cost?.reference?.rate ?? null,
  rollups_ratio: scored.find((x) => x.scenario.id === "rollup_cost")?.ratio ?? null,
  get_hit_p99_ms: p99("get_hit"),
  get_hit_c1_p50_ms: c1p50("get_hit"),
  get_hit_c1_p99_ms: c1p99("get_hit"),
  get_miss_rps: rate("get_miss"),
  get_miss_p99_ms: p99("get_miss"),
  get_miss_c1_p50_ms: c1p50("get_miss"),
  get_miss_c1_p99_ms: c1p99("get_miss"),
  get_miss_harness_rps: rate("get_miss_harness"),
  get_miss_harness_c1_p50_ms: c1p50("get_miss_harness"),
  get_miss_harness_c1_p99_ms: c1p99("get_miss_harness"),
  search_rps: rate("search"),
  search_p99_ms: p99("search"),
  search_c1_p50_ms: c1p50("search"),
  search_c1_p99_ms: c1p99("search"),
  search_304_rps: rate("search_304"),
  search_304_p99_ms: p99("search_304"),
  search_304_c1_p50_ms: c1p50("search_304"),
  search_304_c1_p99_ms: c1p99("search_304"),
  post_rps: rate("post"),
  post_p99_ms: p99("post"),
  post_c1_p50_ms: c1p50("post"),
  post_c1_p99_ms: c1p99("post"),
  post_io_harness_rps: rate("post_io_harness"),
  post_io_harness_p99_ms: p99("post_io_harness"),
  post_io_harness_c1_p50_ms: c1p50("post_io_harness"),
  probe_kv_put_rps: rate("probe_kv_put"),
  probe_post_io_rps: rate("probe_post_io"),
  consumer_rows_per_s: rate("consumer"),
  consumer_k1_rows_per_s: rate("consumer_k1"),
  consumer_k8_rows_per_s: rate("consumer_k8"),
  consumer_harness_k1_rows_per_s: results.consumer_k1?.reference?.rate ?? null,
  consumer_harness_k8_rows_per_s: results.consumer_k8?.reference?.rate ?? null,
  raw_insert_rows_per_s: rate("raw_insert"),
  ingest_ms: rate("ingest"),
  ingest_cpu_ms: ingest?.extra?.ingest_cpu_ms ?? null,
  ingest_peak_mb: ingest?.extra?.ingest_peak_mb ?? null,
  ingest_v8_heap_cap_mb: ingest?.checks?.v8_max_old_space_mb ?? null,
  webhook_events_per_s: rate("webhooks"),
  webhook_raw_post_per_s: results.webhooks?.reference?.rate ?? null,
  webhook_ratio: scored.find((x) => x.scenario.id === "webhooks")?.ratio ?? null,
  targets,
  /** Every ratio the tables show, targets or not: "<scenario> / <what it is compared with>". */
  ratios: Object.fromEntries(scored.filter((x) => x.ratio !== null).map((x) => [`${x.scenario.id} / ${x.versus}`, x.ratio])),
  checks: Object.fromEntries(Object.entries(results).map(([id, m]) => [id, m?.checks ?? null])),
  /** Scenarios that threw, with their message (their figures are null, their targets fail). */
  failures,
  wall_seconds: Math.round((Date.now() - started) / 1000),
};
writeFileSync(`${BENCH_DIR}/latest.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`[bench] wrote ${BENCH_DIR}/latest.json (${report.wall_seconds} s)`);
const failed = Object.entries(targets)
  .filter(([, t]) => t.pass === false)
  .map(([id]) => id);
if (ingestPass === false) failed.push("ingest");
if (failed.length) console.log(`[bench] targets not met: ${failed.join(", ")}`);
if (Object.keys(failures).length) console.log(`[bench] scenarios failed: ${Object.keys(failures).join(", ")}`);
await stop(Object.keys(failures).length || (strict && failed.length) ? 1 : 0);
