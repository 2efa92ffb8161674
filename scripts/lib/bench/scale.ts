// npm run bench -- --scale [--sizes=10k,1m,10m] [--samples=100] [--seed-only]
// How each path's cost grows with the data: seeds 10k / 1M / 10M subscribers and 5k / 100k / 1M
// historical plans (a database per size in .data/bench-scale, kept between runs; a bigger size starts
// as a copy of the biggest smaller one and only the difference is inserted), then measures every path
// through the Worker (workerd via Miniflare) and prints one table of cost against size. Not in CI.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import pg from "pg";
import type { PathDef, Sampler, SizeContext } from "./scale-paths.ts";
import { READ_PATHS } from "./scale-paths.ts";
import type { ScaleSize, SeedReport } from "./scale-seed.ts";
import { SCALE_SIZES, seedToSize } from "./scale-seed.ts";
import type { ScaleStack } from "./scale-stack.ts";
import { startScaleStack } from "./scale-stack.ts";
import { consumerBatch, largestKvValue, SYNC_PATHS } from "./scale-sync.ts";

const OUT = ".data/bench/scale.json";
/** The issue's targets: at the largest size, every latency and CPU row within 1.5 × the smallest; the largest KV value ≤ 5 MiB. */
const MAX_RATIO = 1.5;
const MAX_KV_BYTES = 5 * 1024 * 1024;

interface PathResult {
  p50_ms: number;
  p90_ms: number;
  samples: number;
  /** Cache outcomes the app reported (Server-Timing), and what the path verified. */
  checks: Record<string, unknown>;
}

type Cell = PathResult | { error: string };

interface SizeResult {
  size: ScaleSize;
  seed: SeedReport;
  seed_wall_ms: number;
  paths: Record<string, Cell>;
  kv: { bytes: number; key: string; keys: number } | { error: string };
}

const dbName = (size: ScaleSize) => `scale_${size.name}`;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);

/** The size's database: kept from an earlier run, else a copy of the biggest smaller size's, else empty. */
async function ensureDatabase(stack: ScaleStack, size: ScaleSize, log: (m: string) => void): Promise<void> {
  const exists = async (name: string) =>
    ((await stack.admin.query("select 1 from pg_database where datname = $1", [name])).rowCount ?? 0) > 0;
  if (await exists(dbName(size))) return;
  const smaller = SCALE_SIZES.filter((s) => s.subscribers < size.subscribers).reverse();
  for (const from of smaller) {
    if (!(await exists(dbName(from)))) continue;
    // A template must have no other sessions: the relay may still hold the last instance's.
    await stack.admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [
      dbName(from),
    ]);
    const t = performance.now();
    await stack.admin.query(`create database ${dbName(size)} template ${dbName(from)}`);
    log(`${dbName(size)}: copied from ${dbName(from)} in ${Math.round(performance.now() - t)} ms`);
    return;
  }
  await stack.admin.query(`create database ${dbName(size)}`);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

function summarise(values: number[], checks: Record<string, unknown>): PathResult {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 0.5)), p90_ms: round(percentile(sorted, 0.9)), samples: values.length, checks };
}

/** Grows the size's database to the size (copying a smaller size's first when it has none). */
async function seedSize(stack: ScaleStack, size: ScaleSize, log: (m: string) => void): Promise<{ seed: SeedReport; wall_ms: number }> {
  const started = performance.now();
  await ensureDatabase(stack, size, log);
  await stack.prepare(dbName(size));
  const client = new pg.Client({ connectionString: stack.databaseUrl(dbName(size)) });
  client.on("error", () => {}); // cut by a stop (Ctrl-C): the query in flight reports it
  await client.connect();
  try {
    log(`${size.name}: seeding to ${size.subscribers.toLocaleString("en-US")} subscribers, ${size.plans.toLocaleString("en-US")} plans`);
    const seed = await seedToSize(client, size, log);
    const wall = Math.round(performance.now() - started);
    log(`${size.name}: seeded in ${wall} ms`);
    return { seed, wall_ms: wall };
  } finally {
    await client.end();
  }
}

/**
 * One path on every size: set up on each, then warm-up and counted samples taken in turn across the
 * sizes. A size whose setup or a sample fails gets the error in the path's row instead of figures.
 */
async function measurePath(def: PathDef, ctxs: SizeContext[], base: number): Promise<Array<Record<string, Cell>>> {
  const count = def.samples(base);
  const samplers: Array<Sampler | { error: string }> = [];
  for (const ctx of ctxs) samplers.push(await def.setup(ctx, count).catch((err: unknown) => ({ error: errorText(err) })));
  const values: Array<Record<string, number[]>> = ctxs.map(() => ({}));
  const outcomes: Array<Record<string, number>> = ctxs.map(() => ({}));
  for (let i = 0; i < def.warmup + count; i++) {
    for (let s = 0; s < ctxs.length; s++) {
      const sampler = samplers[s]!;
      if ("error" in sampler) continue;
      try {
        const r = await sampler.sample(i);
        if (i < def.warmup) continue;
        for (const [row, v] of Object.entries(r.values)) values[s]![row] = [...(values[s]![row] ?? []), v];
        if (r.outcome) outcomes[s]![r.outcome] = (outcomes[s]![r.outcome] ?? 0) + 1;
      } catch (err) {
        samplers[s] = { error: errorText(err) };
      }
    }
  }
  for (const sampler of samplers) if (!("error" in sampler)) await sampler.close?.().catch(() => {});
  return samplers.map((sampler, s) => {
    if ("error" in sampler) return { [def.name]: { error: sampler.error } };
    const checks = { cache: outcomes[s], ...sampler.checks?.() };
    return Object.fromEntries(Object.entries(values[s]!).map(([row, v]) => [row, summarise(v, checks)]));
  });
}

async function measureSizes(
  stack: ScaleStack,
  sizes: ScaleSize[],
  opts: { samples: number; runId: string },
  log: (m: string) => void,
): Promise<Array<Pick<SizeResult, "paths" | "kv">>> {
  const pools = sizes.map((size) => {
    const pool = new pg.Pool({ connectionString: stack.databaseUrl(dbName(size)), max: 2 });
    pool.on("error", () => {});
    return pool;
  });
  const out = sizes.map(() => ({ paths: {} as Record<string, Cell>, kv: { error: "not measured" } as SizeResult["kv"] }));
  try {
    const ctxs: SizeContext[] = [];
    for (const [s, size] of sizes.entries()) {
      ctxs.push({
        app: await stack.startApp(dbName(size)),
        pool: pools[s]!,
        readKey: stack.readKey,
        adminKey: stack.adminKey,
        provider: stack.provider,
        startApp: () => stack.startApp(dbName(size)),
        runId: `${opts.runId}-${size.name}`,
      });
    }
    const run = async (def: PathDef) => {
      const t = performance.now();
      const cells = await measurePath(def, ctxs, opts.samples);
      for (const [s, c] of cells.entries()) Object.assign(out[s]!.paths, c);
      const shown = cells.map(
        (c, s) =>
          `${sizes[s]!.name} ${Object.values(c)
            .map((v) => ("error" in v ? `FAILED (${v.error})` : `${v.p50_ms}`))
            .join("/")}`,
      );
      log(`${def.name}: ${shown.join(", ")} (${Math.round(performance.now() - t)} ms)`);
    };
    for (const def of SYNC_PATHS) await run(def);
    // After the syncs: each instance's KV holds what the last sync published.
    for (const [s, ctx] of ctxs.entries()) {
      out[s]!.kv = await largestKvValue(ctx.app).catch((err: unknown) => ({ error: errorText(err) }));
    }
    for (const def of [...READ_PATHS, consumerBatch]) await run(def);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
  return out;
}

/** Row order of the table; any other measured path follows. */
const ORDER = [
  "GET /v1/subscribers/{id} miss",
  "list page 1",
  "list page 10,000 deep",
  "list ?status=unsubscribed",
  "list ?status=bounced",
  "list ?email=",
  "list ?created_after=2026-06-01",
  "list ?created_before=2020-01-01",
  "list ?updated_since=2026-06-01",
  "list ?sort=updated_at",
  "list ?sort=updated_at&status=active",
  "GET /v1/stats (uncached)",
  "/search warm",
  "/search cold (new isolate)",
  "sync CPU, unchanged document",
  "sync CPU, 1 % changed",
  "sync wall, unchanged document",
  "sync wall, 1 % changed",
  "consumer batch of 100 creates",
];

const mib = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;

function table(results: SizeResult[]): { text: string; failed: string[] } {
  const first = results[0]!;
  const last = results.at(-1)!;
  const names = [...new Set([...ORDER, ...results.flatMap((r) => Object.keys(r.paths))])].filter((n) => results.some((r) => n in r.paths));
  const failed: string[] = [];
  const cell = (c: Cell | undefined) => (c === undefined ? "—" : "error" in c ? "FAILED" : `${c.p50_ms} ms`);
  const rows = names.map((name) => {
    const a = first.paths[name];
    const b = last.paths[name];
    const ratio = a && b && !("error" in a) && !("error" in b) && a.p50_ms > 0 ? b.p50_ms / a.p50_ms : null;
    const pass = results.length > 1 && ratio !== null ? ratio <= MAX_RATIO : null;
    if (pass === false || (b && "error" in b)) failed.push(name);
    return [
      name,
      ...results.map((r) => cell(r.paths[name])),
      ratio === null ? "" : `${ratio.toFixed(2)} ×`,
      pass === null ? (b && "error" in b ? "FAIL" : "") : pass ? "PASS" : "FAIL",
    ];
  });
  const kvCell = (r: SizeResult) => ("error" in r.kv ? "FAILED" : mib(r.kv.bytes));
  const kvLast = "error" in last.kv ? null : last.kv.bytes;
  const kvFirst = "error" in first.kv ? null : first.kv.bytes;
  // What the last sync said about the index it published (its shape is the sync report's, whatever it becomes).
  const indexOf = (r: SizeResult) => {
    const c = r.paths["sync CPU, 1 % changed"];
    return (c && !("error" in c) ? c.checks.index : null) as { plans?: number; bytes?: number; stored?: boolean } | null;
  };
  // A value the app tried to write and the KV refused is not a value within the limit.
  const kvPass = kvLast !== null && kvLast <= MAX_KV_BYTES && indexOf(last)?.stored !== false;
  if (!kvPass) failed.push("largest KV value");
  rows.push([
    "largest KV value",
    ...results.map(kvCell),
    kvLast !== null && kvFirst ? `${(kvLast / kvFirst).toFixed(2)} ×` : "",
    kvPass ? "PASS" : "FAIL",
  ]);
  rows.push([
    "search index (sync report)",
    ...results.map((r) => {
      const i = indexOf(r);
      if (!i) return "—";
      if (typeof i.plans !== "number" || typeof i.bytes !== "number") return JSON.stringify(i).slice(0, 60);
      return `${i.plans.toLocaleString("en-US")} plans, ${mib(i.bytes)}${i.stored === false ? ", NOT stored" : ""}`;
    }),
    "",
    "",
  ]);
  const head = [
    "path (p50)",
    ...results.map((r) => `${abbreviate(r.size.subscribers)} subs / ${abbreviate(r.size.plans)} plans`),
    "× smallest",
    `≤ ${MAX_RATIO} ×`,
  ];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(" | ")} |`;
  // The separator as Biome formats Markdown tables, so the table pastes into docs/benchmarks.md as it is.
  const text = [line(head), `| ${width.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
  return { text, failed };
}

const abbreviate = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));

export async function runScale(argv: string[]): Promise<number> {
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const wanted = arg("sizes")?.split(",") ?? SCALE_SIZES.map((s) => s.name);
  const sizes = SCALE_SIZES.filter((s) => wanted.includes(s.name));
  if (sizes.length !== wanted.length) {
    console.error(`[scale] --sizes takes ${SCALE_SIZES.map((s) => s.name).join(",")}`);
    return 2;
  }
  const samples = Number(arg("samples") ?? 100);
  const log = (m: string) => console.log(`[scale] ${m}`);
  const started = Date.now();
  const runId = started.toString(36);
  const stack = await startScaleStack(log);
  const stopOnSignal = () => void stack.stop().finally(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  const results: SizeResult[] = [];
  try {
    const seeds: Array<{ seed: SeedReport; wall_ms: number }> = [];
    for (const size of sizes) seeds.push(await seedSize(stack, size, log));
    if (argv.includes("--seed-only")) {
      log("seeded; --seed-only: nothing measured");
      return 0;
    }
    const measured = await measureSizes(stack, sizes, { samples, runId }, log);
    for (const [s, size] of sizes.entries()) results.push({ size, seed: seeds[s]!.seed, seed_wall_ms: seeds[s]!.wall_ms, ...measured[s]! });
  } catch (err) {
    console.error("[scale] failed:", err);
  } finally {
    process.off("SIGINT", stopOnSignal);
    await stack.stop();
  }
  if (results.length === 0) return 1;

  console.log("\nSeeding (inserted this run; a size copied from a smaller one inserts only the difference):");
  for (const r of results) {
    const s = r.seed;
    console.log(
      `  ${r.size.name}: subscribers ${s.subscribers.before.toLocaleString("en-US")} → ${s.subscribers.after.toLocaleString("en-US")} in ${s.subscribers.ms} ms, ` +
        `plans ${s.plans.before.toLocaleString("en-US")} → ${s.plans.after.toLocaleString("en-US")} in ${s.plans.ms} ms, vacuum analyze ${s.vacuum_analyze_ms} ms, total ${r.seed_wall_ms} ms`,
    );
  }
  const { text, failed } = table(results);
  console.log(`\n${text}\n`);
  const wallSeconds = Math.round((Date.now() - started) / 1000);
  mkdirSync(".data/bench", { recursive: true });
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  const report = {
    date: new Date().toISOString(),
    commit,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "", loadavg_at_end: loadavg().map((l) => Math.round(l * 100) / 100) },
    samples,
    targets: { max_ratio: MAX_RATIO, max_kv_bytes: MAX_KV_BYTES, failed },
    sizes: results,
    table: text,
    wall_seconds: wallSeconds,
  };
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`[scale] wrote ${OUT} (${wallSeconds} s)${failed.length ? `; targets not met: ${failed.join(", ")}` : ""}`);
  return 0;
}
