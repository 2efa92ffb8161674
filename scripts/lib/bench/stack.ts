// The bench's runtime: the real embedded Postgres (data in .data/bench), the database relay in its own
// process, the Worker built exactly as deployed (wrangler deploy --dry-run) and run in workerd through
// the Miniflare API — no wrangler dev proxy, LOG_LEVEL=warn — with Miniflare's real KV and Queues,
// configured from wrangler.toml. Plus a trivial "ok" Worker in the same runtime configuration.
import { execFileSync } from "node:child_process";
import { basename, resolve } from "node:path";
import type { V4WorkerOptions } from "miniflare";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import pg from "pg";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { generateApiKey } from "../api-keys.ts";
import { freePort } from "../free-port.ts";
import type { ProviderStandin } from "../provider-standin.ts";
import { startLocalStack } from "../stack.ts";

export const BENCH_DIR = ".data/bench";

export interface Stack {
  pgUrl: string;
  pool: pg.Pool;
  app: Miniflare;
  appUrl: URL;
  baseline: Miniflare;
  baselineUrl: URL;
  /** The same-I/O harness (harness-worker/index.ts) with the app's bindings, in a workerd process of its own. */
  harness: Miniflare;
  harnessUrl: URL;
  readKey: string;
  writeKey: string;
  adminKey: string;
  provider: ProviderStandin;
  /** Another instance of the app in its own workerd process (for per-process CPU/memory readings, or other settings). */
  startAppWorker(v8Flags?: string[], bindings?: Record<string, string>): Promise<{ mf: Miniflare; url: URL; pid: number }>;
  stop(): Promise<void>;
}

/** workerd processes that are children of this Node process (Miniflare does not expose the pid). */
function workerdPids(): Set<number> {
  const out = new Set<number>();
  for (const line of execFileSync("ps", ["-o", "pid=,ppid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).split("\n")) {
    const [pid, , comm] = line.trim().split(/\s+/);
    if (comm?.startsWith("workerd")) out.add(Number(pid));
  }
  return out;
}

/** The same bundle `npm run build` deploys (or, given an entry, that entry bundled the same way). */
function buildWorker(outdir: string, entry?: string): string {
  const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir, ...(entry ? [entry] : [])];
  execFileSync(process.execPath, args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "error" },
  });
  return resolve(outdir, entry ? basename(entry).replace(/\.ts$/, ".js") : "index.js");
}

const PROBE_SCRIPT = `
const body = JSON.stringify({ id: "0190a3b4-0000-7000-8000-000000000000", status: "pending" });
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response("ok");
    const key = "op:" + crypto.randomUUID();
    if (path === "/kv-put") await env.KV.put(key, body, { expirationTtl: 86400 });
    else if (path === "/post-io") {
      await env.KV.get("sub:" + key);
      await env.Q.send({ body }, { contentType: "json" });
      await env.KV.put(key, body, { expirationTtl: 86400 });
    } else return new Response("not found", { status: 404 });
    return new Response(body, { status: 202, headers: { "content-type": "application/json" } });
  },
  async queue(batch) { batch.ackAll(); },
};`;

export async function startStack(opts: { log?: (m: string) => void } = {}): Promise<Stack> {
  const say = opts.log ?? (() => {});
  const readKey = generateApiKey();
  const writeKey = generateApiKey();
  const adminKey = generateApiKey();
  // Limits far above any load the bench makes: it measures the limiter's cost, not its refusals.
  const rateLimit = { limit: 1_000_000, periodSeconds: 60 };
  const fail = (err: unknown): never => {
    console.error("[bench] could not start the stack:", err);
    throw err;
  };
  const local = await startLocalStack({
    database: "bench",
    stateDir: BENCH_DIR,
    recreateDatabase: true,
    // autocannon runs in this process: the relay must not share its event loop.
    relay: { ownProcess: true },
    keys: [
      { key: adminKey, name: "bench-admin", scopes: ["admin"], rateLimit },
      { key: readKey, name: "bench-reader", scopes: ["subscribers:read"], rateLimit },
      { key: writeKey, name: "bench-writer", scopes: ["subscribers:write", "subscribers:read"], rateLimit },
    ],
    log: (m) => say(m.replace(/:[^:@/]+@/, ":***@")),
    onStopError: () => {},
  }).catch(fail);
  const { databaseUrl, relay, provider, stop } = local;
  try {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    pool.on("error", () => {}); // idle clients cut by a Postgres stop; the next query reports it
    local.defer(() => pool.end());

    const script = buildWorker(`${BENCH_DIR}/dist`);
    const harnessScript = buildWorker(`${BENCH_DIR}/dist-harness`, "scripts/lib/bench/harness-worker/index.ts");
    say(`workers built: ${script}, ${harnessScript}`);
    // KV, queues (with the consumer's batch size, timeout, retries, DLQ), vars and compatibility
    // settings exactly as wrangler.toml declares them.
    process.env.DATABASE_URL = databaseUrl; // the one secret wrangler.toml requires
    // wrangler types these loosely; they are Miniflare worker options by construction.
    const w = unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions as unknown as V4WorkerOptions;
    const compat = { compatibilityDate: w.compatibilityDate, compatibilityFlags: w.compatibilityFlags };
    const runtime = { host: "127.0.0.1", log: new Log(LogLevel.WARN), logRequests: false, cf: false };
    // For CPU profiles (scripts/profile.ts): the app's isolate answers the DevTools protocol there.
    const inspector = process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {};
    const appOptions = async (overrides: Record<string, string> = {}, scriptPath = script) =>
      convertV4MiniflareOptions({
        ...runtime,
        // One inspector port: the app's, never the harness's.
        ...(scriptPath === script ? inspector : {}),
        port: await freePort(),
        workers: [
          {
            name: "app",
            ...compat,
            modules: true,
            scriptPath,
            bindings: {
              ...w.bindings,
              ENVIRONMENT: "development",
              LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
              DATABASE_URL: databaseUrl,
              DATABASE_WS_PROXY: relay.proxy,
              DATABASE_HTTP_ENDPOINT: relay.httpEndpoint,
              // Retries come back quickly in the fault scenarios; production keeps the schema's default.
              QUEUE_RETRY_BASE_SECONDS: "1",
              PROVIDER_URL: provider.url,
              // Public routes come from one address here; per-IP limits would refuse the load itself.
              PUBLIC_IP_RATE_LIMIT: "100000000",
              ...overrides,
            },
            durableObjects: w.durableObjects,
            kvNamespaces: Object.keys(w.kvNamespaces ?? {}),
            queueProducers: w.queueProducers,
            queueConsumers: w.queueConsumers,
          },
        ],
      });
    const app = new Miniflare(await appOptions());
    local.defer(() => app.dispose());
    const startAppWorker = async (v8Flags: string[] = [], bindings: Record<string, string> = {}) => {
      const before = workerdPids();
      // Miniflare reads V8 flags for workerd from this variable when it builds the process config.
      const saved = process.env.MINIFLARE_WORKERD_V8_FLAGS;
      process.env.MINIFLARE_WORKERD_V8_FLAGS = v8Flags.join(" ");
      const mf = new Miniflare(await appOptions(bindings));
      await mf.ready.finally(() => {
        if (saved === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
        else process.env.MINIFLARE_WORKERD_V8_FLAGS = saved;
      });
      local.defer(() => mf.dispose());
      const url = await mf.ready;
      const pid = [...workerdPids()].find((p) => !before.has(p));
      if (pid === undefined) throw new Error("could not find the new workerd process");
      return { mf, url, pid };
    };
    // The baseline answers "ok" at /; its other paths do only what the POST handler does against
    // Miniflare's KV and Queues simulators (which run on workerd's thread, unlike production's), so
    // the table can show what that I/O alone costs in this harness.
    const baseline = new Miniflare(
      convertV4MiniflareOptions({
        ...runtime,
        port: await freePort(),
        workers: [
          {
            name: "baseline",
            ...compat,
            modules: true,
            script: PROBE_SCRIPT,
            kvNamespaces: ["KV"],
            queueProducers: { Q: "bench-probe" },
            queueConsumers: { "bench-probe": { maxBatchSize: 100, maxBatchTimeout: 1 } },
          },
        ],
      }),
    );
    local.defer(() => baseline.dispose());
    const harness = new Miniflare(await appOptions({}, harnessScript));
    local.defer(() => harness.dispose());
    const [appUrl, baselineUrl, harnessUrl] = await Promise.all([app.ready, baseline.ready, harness.ready]);
    say(`workerd: app ${appUrl.origin}, baseline ${baselineUrl.origin}, harness ${harnessUrl.origin}`);
    return {
      pgUrl: databaseUrl,
      pool,
      app,
      appUrl,
      baseline,
      baselineUrl,
      harness,
      harnessUrl,
      readKey,
      writeKey,
      adminKey,
      provider,
      startAppWorker,
      stop,
    };
  } catch (err) {
    await stop();
    return fail(err);
  }
}
