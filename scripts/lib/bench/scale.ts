// npm run bench -- --scale [--sizes=10k,1m,10m] [--samples=100] [--seed-only]
// How each path's cost grows with the data: seeds 10k / 1M / 10M subscribers and 5k / 100k / 1M
// historical plans (a database per size in .data/bench-scale, kept between runs; a bigger size starts
// as a copy of the biggest smaller one and only the difference is inserted), then measures every path
// through the Worker (workerd via Miniflare) and prints one table of cost against size. Not in CI.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import pg from "pg";
import { dbName, measureSizes } from "./scale-measure.ts";
import type { ScaleSize, SeedReport } from "./scale-seed.ts";
import { SCALE_SIZES, seedToSize } from "./scale-seed.ts";
import type { ScaleStack } from "./scale-stack.ts";
import { startScaleStack } from "./scale-stack.ts";
import type { SizeResult } from "./scale-table.ts";
import { MAX_KV_BYTES, MAX_RATIO, scaleTable } from "./scale-table.ts";

const OUT = ".data/bench/scale.json";

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
  const { text, failed } = scaleTable(results);
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
