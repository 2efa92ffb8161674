// npm run bench [-- --quick] [-- --strict] [-- --only=<id>,…]
// Side-by-side throughput (32 connections) and latency (one request at a time) of the built Worker in
// workerd (Miniflare API, no wrangler dev proxy, LOG_LEVEL=warn) against the real embedded Postgres,
// with a trivial "ok" Worker as the ceiling and, for every path that does I/O, a harness Worker doing
// exactly that I/O and nothing else, so each ratio isolates our own code. Prints the figures, the
// targets and the most writes one KV key received within a second, and writes
// .data/bench/latest.json. Ratios matter more than absolute numbers: the machine is shared, so each
// path runs in slices alternating with what it is held to (A B B A …), and each ratio is the median
// of the per-round ratios (scripts/lib/bench/interleave.ts).
// --strict exits 1 when a target fails (the default only reports).
// --scale runs the scale bench instead (scripts/lib/bench/scale.ts): cost of each path against data size.
import { writeFileSync } from "node:fs";
import { unstable_readConfig } from "wrangler";
import { latestReport } from "./lib/bench/latest-report.ts";
import type { BenchOptions, Measurement } from "./lib/bench/scenarios.ts";
import { SCENARIOS } from "./lib/bench/scenarios.ts";
import type { BenchRun } from "./lib/bench/score.ts";
import { ingestVerdict, isScenario, kvVerdict, rowOfSides, scoreRun } from "./lib/bench/score.ts";
import { BENCH_DIR, startStack } from "./lib/bench/stack.ts";
import { printTables } from "./lib/bench/tables.ts";

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
// A scenario held to another runs with it (`--only=post` still gets its ratio), and so does one whose
// state it needs, or one that measures it as a side (a harness row, the baseline).
for (let size = -1; only && size !== only.length; ) {
  size = only.length;
  for (const s of SCENARIOS.filter((x) => only.includes(x.id))) {
    for (const dep of [...(s.targets ?? []).map((t) => t.of), ...(s.needs ?? [])])
      if (isScenario(dep) && !only.includes(dep)) only.push(dep);
    if (s.measuredBy && !s.measuredBy.some((by) => only.includes(by))) only.push(s.measuredBy[0]!);
  }
}
const results: Record<string, Measurement | null> = {};
const failures: Record<string, string> = {};
const kvWrites: BenchRun["kvWrites"] = {};
/** Rows measured as sides of other scenarios (measuredBy), by id, with the scenario that measured them. */
const sides: Record<string, Array<{ by: string; m: Measurement }>> = {};
const show = (m: Measurement) =>
  `${m.rate} ${m.unit}${m.p99_ms !== null ? `, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms` : ""}${m.c1 ? `, c1 p50 ${m.c1.p50_ms} ms, p99 ${m.c1.p99_ms} ms` : ""}` +
  `${(m.paired ?? []).map((p) => `; ${p.ratio} × ${p.of}${p.metric === "c1_p50" ? " c1 p50" : ""} [${p.rounds.join(", ")}]`).join("")}  ${JSON.stringify(m.checks)}`;
try {
  for (const s of SCENARIOS) {
    if (!s.run || (only && !only.includes(s.id))) continue;
    opts.log(`${s.label} …`);
    await stack.kvWrites(true);
    // One scenario failing (a provider stalling under load, a check not met) must not cost the
    // others' figures: it is reported, its targets fail, and the bench exits 1 at the end.
    try {
      const m = await s.run(stack, opts, runId);
      results[s.id] = m;
      if (m) opts.log(`  ${show(m)}`);
      for (const [id, side] of Object.entries(m?.also ?? {})) sides[id] = [...(sides[id] ?? []), { by: s.id, m: side }];
    } catch (err) {
      results[s.id] = null;
      failures[s.id] = err instanceof Error ? err.message.slice(0, 300) : String(err);
      console.error(`[bench] ${s.id} failed:`, err);
    }
    kvWrites[s.id] = await stack.kvWrites();
    if (kvWrites[s.id]!.writes) opts.log(`  KV writes: ${JSON.stringify(kvWrites[s.id])}`);
  }
  for (const [id, xs] of Object.entries(sides)) results[id] = rowOfSides(xs);
} catch (err) {
  console.error("[bench] failed:", err);
  await stop(1);
}

const run: BenchRun = { results, failures, kvWrites };
const scored = scoreRun(run);
const ingest = ingestVerdict(run, INGEST_CPU_LIMIT_MS);
printTables(run, scored, ingest, opts.connections);
const report = latestReport(run, scored, ingest, opts, started);
writeFileSync(`${BENCH_DIR}/latest.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`[bench] wrote ${BENCH_DIR}/latest.json (${report.wall_seconds} s)`);
const failed = Object.entries(report.targets)
  .filter(([, t]) => t.pass === false)
  .map(([id]) => id);
if (ingest.pass === false) failed.push("ingest");
if (kvVerdict(run).pass === false) failed.push("kv_writes_per_key");
if (failed.length) console.log(`[bench] targets not met: ${failed.join(", ")}`);
if (Object.keys(failures).length) console.log(`[bench] scenarios failed: ${Object.keys(failures).join(", ")}`);
await stop(Object.keys(failures).length || (strict && failed.length) ? 1 : 0);
