// npm run bench -- --scale [--sizes=10k,1m,10m] [--samples=100]
// How each path's cost grows with the data: seeds 10k / 1M / 10M subscribers and 5k / 100k / 1M
// historical plans (a database per size in .data/bench-scale, kept between runs; a bigger size starts
// as a copy of the biggest smaller one and only the difference is inserted), then measures every path
// through the Worker (workerd via Miniflare) and prints one table of cost against size. Not in CI.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import pg from "pg";
import type { PathResult } from "./scale-paths.ts";
import { listPaths, searchCold, searchWarm, statsPath, subscriberMiss } from "./scale-paths.ts";
import type { ScaleSize, SeedReport } from "./scale-seed.ts";
import { SCALE_SIZES, seedToSize } from "./scale-seed.ts";
import type { ScaleStack } from "./scale-stack.ts";
import { startScaleStack } from "./scale-stack.ts";
import { consumerBatches, largestKvValue, syncPaths } from "./scale-sync.ts";

const OUT = ".data/bench/scale.json";
/** The issue's targets: at the largest size, every latency and CPU row within 1.5 × the smallest; the largest KV value ≤ 5 MiB. */
const MAX_RATIO = 1.5;
const MAX_KV_BYTES = 5 * 1024 * 1024;

type Cell = PathResult | { error: string };

interface SizeResult {
  size: ScaleSize;
  seed: SeedReport;
  seed_wall_ms: number;
  paths: Record<string, Cell>;
  kv: { bytes: number; key: string; keys: number } | { error: string };
  index: unknown;
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

async function measureSize(
  stack: ScaleStack,
  size: ScaleSize,
  opts: { samples: number; runId: string },
  log: (m: string) => void,
): Promise<SizeResult> {
  const seedStarted = performance.now();
  await ensureDatabase(stack, size, log);
  await stack.prepare(dbName(size));
  const client = new pg.Client({ connectionString: stack.databaseUrl(dbName(size)) });
  await client.connect();
  let seed: SeedReport;
  try {
    log(`${size.name}: seeding to ${size.subscribers.toLocaleString("en-US")} subscribers, ${size.plans.toLocaleString("en-US")} plans`);
    seed = await seedToSize(client, size, log);
  } finally {
    await client.end();
  }
  const seedWall = Math.round(performance.now() - seedStarted);
  log(`${size.name}: seeded in ${seedWall} ms`);

  const pool = new pg.Pool({ connectionString: stack.databaseUrl(dbName(size)), max: 2 });
  pool.on("error", () => {});
  const app = await stack.startApp(dbName(size));
  const paths: Record<string, Cell> = {};
  const measure = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    const t = performance.now();
    try {
      const r = await run();
      log(`${size.name}: ${name} in ${Math.round(performance.now() - t)} ms`);
      return r;
    } catch (err) {
      log(`${size.name}: ${name} FAILED: ${errorText(err)}`);
      paths[name] = { error: errorText(err) };
      return undefined;
    }
  };
  const { samples } = opts;
  let index: unknown = null;
  let kv: SizeResult["kv"] = { error: "not measured" };
  try {
    const sync = await measure("sync", () => syncPaths(app, stack.provider, stack.adminKey, 3));
    if (sync) {
      paths["sync CPU, unchanged document"] = sync.unchanged_cpu;
      paths["sync CPU, 1 % changed"] = sync.changed_cpu;
      paths["sync wall, unchanged document"] = sync.unchanged_wall;
      paths["sync wall, 1 % changed"] = sync.changed_wall;
      index = sync.index;
    }
    kv = (await measure("largest KV value", () => largestKvValue(app))) ?? { error: "failed" };
    const warm = await measure("/search warm", () => searchWarm(app, samples));
    if (warm) paths["/search warm"] = warm;
    const cold = await measure("/search cold", () => searchCold(app, () => stack.startApp(dbName(size)), 5));
    if (cold) paths["/search cold (new isolate)"] = cold;
    const miss = await measure("subscriber miss", () => subscriberMiss(app, pool, stack.readKey, samples));
    if (miss) paths["GET /v1/subscribers/{id} miss"] = miss;
    const lists = await measure("lists", () => listPaths(app, pool, stack.readKey, samples));
    if (lists) Object.assign(paths, lists);
    const stats = await measure("stats", () => statsPath(app, stack.readKey, Math.max(5, Math.round(samples / 5))));
    if (stats) paths["GET /v1/stats (uncached)"] = stats;
    const consumer = await measure("consumer", () => consumerBatches(app, pool, 10, `${opts.runId}-${size.name}`));
    if (consumer) paths["consumer batch of 100 creates"] = consumer;
  } finally {
    await app.mf.dispose();
    await pool.end();
  }
  return { size, seed, seed_wall_ms: seedWall, paths, kv, index };
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

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

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
  const kvPass = kvLast !== null && kvLast <= MAX_KV_BYTES;
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
      const i = r.index as { plans: number; bytes: number; stored: boolean } | null;
      return i ? `${i.plans.toLocaleString("en-US")} plans, ${mib(i.bytes)}${i.stored ? "" : ", NOT stored"}` : "—";
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
  const text = [line(head), `|${width.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
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
    for (const size of sizes) results.push(await measureSize(stack, size, { samples, runId }, log));
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
