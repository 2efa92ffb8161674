// The scale bench's measuring: each path set up on every size, then its samples taken in turn across
// the sizes (scale-path-kit.ts says why), summarised as p50 and p90; a failure becomes the cell's error.
import pg from "pg";
import type { PathDef, Sampler, SizeContext } from "./scale-path-kit.ts";
import { READ_PATHS } from "./scale-paths.ts";
import type { ScaleSize } from "./scale-seed.ts";
import type { ScaleStack } from "./scale-stack.ts";
import { consumerBatch, largestKvValue, SYNC_PATHS } from "./scale-sync.ts";
import type { Cell, PathResult, SizeResult } from "./scale-table.ts";

export const dbName = (size: ScaleSize) => `scale_${size.name}`;
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 300);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

function summarise(values: number[], checks: Record<string, unknown>): PathResult {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 0.5)), p90_ms: round(percentile(sorted, 0.9)), samples: values.length, checks };
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

export async function measureSizes(
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
