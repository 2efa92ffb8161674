// The Worker built exactly as `npm run build` deploys it (wrangler deploy --dry-run) and run in
// workerd through the Miniflare API, with wrangler.toml's bindings (KV, queues with the consumer's
// batch size, timeout, retries and DLQ, Durable Objects, vars, compatibility settings) and no
// wrangler dev proxy in front: what the benches measure. Each instance is a workerd process of its own.
import { execFileSync } from "node:child_process";
import { basename, resolve } from "node:path";
import type { V4WorkerOptions } from "miniflare";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { freePort } from "./free-port.ts";

export interface AppInstance {
  mf: Miniflare;
  url: URL;
  /** The workerd process running it, for CPU and memory readings from /proc. */
  pid: number;
}

/** workerd processes that are children of this Node process (Miniflare does not expose the pid). */
function workerdPids(): Set<number> {
  const out = new Set<number>();
  for (const line of execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).split("\n")) {
    const [pid, comm] = line.trim().split(/\s+/);
    if (comm?.startsWith("workerd")) out.add(Number(pid));
  }
  return out;
}

/** The same bundle `npm run build` deploys (or, given an entry, that entry bundled the same way); returns the script's path. */
export function buildWorker(outdir: string, entry?: string): string {
  const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir, ...(entry ? [entry] : [])];
  execFileSync(process.execPath, args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "error" },
  });
  return resolve(outdir, entry ? basename(entry).replace(/\.ts$/, ".js") : "index.js");
}

/** wrangler.toml's worker options. Reading them needs DATABASE_URL, the one secret it requires. */
function declaredWorker(databaseUrl: string): V4WorkerOptions {
  process.env.DATABASE_URL = databaseUrl;
  // wrangler types these loosely; they are Miniflare worker options by construction.
  return unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions as unknown as V4WorkerOptions;
}

export interface MiniflareStart {
  worker: V4WorkerOptions;
  /** V8 flags for this workerd process only. */
  v8Flags?: string[];
  /** Its isolate answers the DevTools protocol there (CPU profiles). */
  inspectorPort?: number;
  /** Gets every line the Worker logs (console output), as workerd prints it. */
  onLog?: (message: string) => void;
  /** Keeps KV, caches and Durable Objects in this directory: a later instance given it sees the same state. */
  persistTo?: string;
}

/** One Worker in its own workerd process on a free loopback port, once it is ready. */
export async function startMiniflare(opts: MiniflareStart): Promise<AppInstance> {
  const before = workerdPids();
  // Miniflare reads V8 flags for workerd from this variable when it builds the process config.
  const saved = process.env.MINIFLARE_WORKERD_V8_FLAGS;
  if (opts.v8Flags) process.env.MINIFLARE_WORKERD_V8_FLAGS = opts.v8Flags.join(" ");
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      log: new Log(LogLevel.WARN),
      logRequests: false,
      cf: false,
      ...(opts.inspectorPort === undefined ? {} : { inspectorPort: opts.inspectorPort }),
      ...(opts.onLog ? { handleStructuredLogs: (l: { message: string }) => opts.onLog?.(l.message) } : {}),
      ...(opts.persistTo ? { resourcePersistencePath: opts.persistTo } : {}),
      port: await freePort(),
      workers: [opts.worker],
    }),
  );
  try {
    const url = await mf.ready;
    const pid = [...workerdPids()].find((p) => !before.has(p));
    if (pid === undefined) throw new Error("could not find the new workerd process");
    return { mf, url, pid };
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  } finally {
    if (opts.v8Flags) {
      if (saved === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
      else process.env.MINIFLARE_WORKERD_V8_FLAGS = saved;
    }
  }
}

/** Each rate limiting binding of wrangler.toml and the vars that say its limit and period (src/config/schema.ts). */
const RATELIMIT_VARS = {
  PUBLIC_IP_LIMITER: ["PUBLIC_IP_RATE_LIMIT", "PUBLIC_IP_RATE_PERIOD_SECONDS"],
  KEY_LOOKUP_LIMITER: ["AUTH_FAILURE_IP_LIMIT", "AUTH_FAILURE_IP_PERIOD_SECONDS"],
} as const;

/**
 * wrangler.toml's rate limiting bindings, with the limits a stack sets through the vars (the bench
 * lifts PUBLIC_IP_RATE_LIMIT): the binding counts, so it must be given the same numbers.
 */
function ratelimits(declared: V4WorkerOptions, bindings: Record<string, string>): V4WorkerOptions["ratelimits"] {
  const out = { ...declared.ratelimits };
  for (const [name, [limitVar, periodVar]] of Object.entries(RATELIMIT_VARS)) {
    const binding = out[name];
    if (!binding) continue;
    const limit = bindings[limitVar] === undefined ? binding.simple.limit : Number(bindings[limitVar]);
    const period = bindings[periodVar] === undefined ? binding.simple.period : (Number(bindings[periodVar]) as 10 | 60);
    out[name] = { ...binding, simple: { limit, period } };
  }
  return out;
}

/** The app's worker options: wrangler.toml's, running `scriptPath`, with `bindings` over its vars. */
function appWorker(declared: V4WorkerOptions, scriptPath: string, bindings: Record<string, string>): V4WorkerOptions {
  return {
    name: "app",
    compatibilityDate: declared.compatibilityDate,
    compatibilityFlags: declared.compatibilityFlags,
    modules: true,
    scriptPath,
    bindings: { ...declared.bindings, ...bindings },
    durableObjects: declared.durableObjects,
    kvNamespaces: Object.keys(declared.kvNamespaces ?? {}),
    queueProducers: declared.queueProducers,
    queueConsumers: declared.queueConsumers,
    analyticsEngineDatasets: declared.analyticsEngineDatasets,
    ratelimits: ratelimits(declared, bindings),
  };
}

interface AppStartOptions {
  /** A database on the stack's cluster. Omitted: the stack's own. */
  database?: string;
  /** Another script (from buildWorker), run with the app's bindings. Omitted: the app. */
  scriptPath?: string;
  /** On top of the stack's and `miniflare.bindings`. */
  bindings?: Record<string, string>;
  v8Flags?: string[];
  inspectorPort?: number;
  onLog?: MiniflareStart["onLog"];
  persistTo?: string;
}

export interface MiniflareApps {
  /** The app Worker as `npm run build` bundles it. */
  script: string;
  /** wrangler.toml's compatibility date and flags, for other Workers run beside it. */
  compatibility: Pick<V4WorkerOptions, "compatibilityDate" | "compatibilityFlags">;
  /** A fresh instance (its own workerd process, empty KV and isolate memory), disposed by stop(). */
  start(opts?: AppStartOptions): Promise<AppInstance>;
}

/**
 * Builds the app once; each start() runs it with wrangler.toml's bindings, then `stackVars` (what
 * points it at the local stack), `bindings`, and the start's own.
 */
export function startApps(opts: {
  outDir: string;
  bindings?: Record<string, string>;
  stackVars: Record<string, string> & { DATABASE_URL: string };
  databaseUrlFor(name: string): string;
  /** Gets each instance's disposal, to run when the stack stops. */
  defer(stop: () => Promise<void>): void;
}): MiniflareApps {
  const script = buildWorker(opts.outDir);
  const declared = declaredWorker(opts.stackVars.DATABASE_URL);
  const shared = { ...opts.stackVars, ...opts.bindings };
  return {
    script,
    compatibility: { compatibilityDate: declared.compatibilityDate, compatibilityFlags: declared.compatibilityFlags },
    async start(o = {}) {
      const own = o.database === undefined ? {} : { DATABASE_URL: opts.databaseUrlFor(o.database) };
      const worker = appWorker(declared, o.scriptPath ?? script, { ...shared, ...own, ...o.bindings });
      const { v8Flags, inspectorPort, onLog, persistTo } = o;
      const app = await startMiniflare({ worker, v8Flags, inspectorPort, onLog, persistTo });
      opts.defer(() => app.mf.dispose());
      return app;
    },
  };
}

/** The calls made on an app's KV namespace, typed here: Miniflare's KV types come from a package not installed. */
export interface AppKv {
  list(opts: { prefix?: string; cursor?: string }): Promise<{ keys: Array<{ name: string }>; list_complete: boolean; cursor?: string }>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  getWithMetadata(key: string, type: "arrayBuffer"): Promise<{ value: ArrayBuffer | null; metadata: unknown }>;
  put(key: string, value: ArrayBuffer, opts?: { metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
}

export const cacheKv = async (app: AppInstance): Promise<AppKv> => (await app.mf.getKVNamespace("CACHE")) as unknown as AppKv;
