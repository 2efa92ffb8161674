// What a scale-bench path is and how it is sampled. Each is measured one request (or run) at a
// time: latency and CPU, not throughput. A path is set up on every size, then its samples are taken in turn across the sizes
// (sample i on 10k, on 1M, on 10M, then i + 1…), so the load other work puts on this shared machine
// falls on every size alike instead of on whichever size ran while it peaked.
import type pg from "pg";
import type { AppInstance } from "../miniflare-app.ts";
import { cacheKv } from "../miniflare-app.ts";
import type { ProviderStandin } from "../provider-standin.ts";

/** One size's app and data, as a path needs them. */
export interface SizeContext {
  app: AppInstance;
  pool: pg.Pool;
  readKey: string;
  adminKey: string;
  provider: ProviderStandin;
  /** Another, fresh instance of the app on the same database (new workerd process, empty KV). */
  startApp(): Promise<AppInstance>;
  runId: string;
}

/** Sample i's figures, by table row (most paths have one: its latency), and the cache outcome the app reported. */
interface Sample {
  values: Record<string, number>;
  outcome?: string;
}

export interface Sampler {
  sample(i: number): Promise<Sample>;
  /** What the path verified or noticed, reported once all samples are in. */
  checks?(): Record<string, unknown>;
  /** Releases what setup started (another app instance). */
  close?(): Promise<void>;
}

export interface PathDef {
  name: string;
  /** Samples not counted (connections, compile, first fills), taken before the counted ones, also in turn. */
  warmup: number;
  /** Counted samples, from the run's --samples. */
  samples(base: number): number;
  setup(ctx: SizeContext, count: number): Promise<Sampler>;
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const cacheOutcome = (res: Response) => /cache;desc="?(\w+)/.exec(res.headers.get("server-timing") ?? "")?.[1] ?? "none";

/** A GET whose latency is the row `row`; the answer must be 200 and pass `check`. */
export function httpSampler(
  ctx: SizeContext,
  row: string,
  path: (i: number) => string,
  opts: { key?: string; check?: (body: unknown, i: number) => void } = {},
): Sampler {
  return {
    async sample(i) {
      const url = path(i);
      const started = performance.now();
      const res = await fetch(new URL(url, ctx.app.url), { headers: opts.key ? bearer(opts.key) : {} });
      const text = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`${url.split("?")[0]}: ${res.status} ${text.slice(0, 200)}`);
      opts.check?.(JSON.parse(text), i);
      return { values: { [row]: ms }, outcome: cacheOutcome(res) };
    },
  };
}

/** Every key in the instance's CACHE namespace. */
export async function kvKeys(app: AppInstance): Promise<string[]> {
  const kv = await cacheKv(app);
  const names: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list(cursor === undefined ? {} : { cursor });
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names;
    cursor = page.cursor;
  }
}
