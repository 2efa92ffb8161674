// The bench's runtime: the local stack (scripts/lib/stack.ts) with its data in .data/bench, the
// database relay in its own process and the app built as deployed and run through Miniflare
// (LOG_LEVEL=warn) behind the KV write shim (kv-tally-worker/index.ts), plus the same-I/O harness
// with the app's bindings and a trivial "ok" Worker in the same runtime configuration.

import { readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { generateApiKey } from "../api-keys.ts";
import type { AppInstance } from "../miniflare-app.ts";
import { buildWorker, startMiniflare } from "../miniflare-app.ts";
import type { ProviderStandin } from "../provider-standin.ts";
import { startLocalStack } from "../stack.ts";
import type { KeyWriteSnapshot } from "./key-write-rate.ts";

export const BENCH_DIR = ".data/bench";

export interface Stack {
  pgUrl: string;
  pool: pg.Pool;
  /** The app, behind the KV write shim (kv-tally-worker/index.ts). */
  app: Miniflare;
  appUrl: URL;
  /** The most writes one key of the app's KV received within a second since the last reset (`reset`: and start over). */
  kvWrites(reset?: boolean): Promise<KeyWriteSnapshot>;
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
  startAppWorker(v8Flags?: string[], bindings?: Record<string, string>): Promise<AppInstance>;
  stop(): Promise<void>;
}

/** The trivial Worker (probe-worker/index.ts), runnable as written once its types are stripped. */
const PROBE_SCRIPT = stripTypeScriptTypes(readFileSync(new URL("./probe-worker/index.ts", import.meta.url), "utf8"));

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
    miniflare: {
      outDir: `${BENCH_DIR}/dist`,
      bindings: {
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
        // Retries come back quickly in the fault scenarios; production keeps the schema's default.
        QUEUE_RETRY_BASE_SECONDS: "1",
        // Public routes come from one address here; per-IP limits would refuse the load itself.
        PUBLIC_IP_RATE_LIMIT: "100000000",
      },
    },
    log: (m) => say(m.replace(/:[^:@/]+@/, ":***@")),
    onStopError: () => {},
  }).catch(fail);
  const { databaseUrl, provider, apps, stop } = local;
  try {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    pool.on("error", () => {}); // idle clients cut by a Postgres stop; the next query reports it
    local.defer(() => pool.end());

    const harnessScript = buildWorker(`${BENCH_DIR}/dist-harness`, "scripts/lib/bench/harness-worker/index.ts");
    say(`harness built: ${harnessScript}`);
    const talliedScript = buildWorker(`${BENCH_DIR}/dist-kv-tally`, "scripts/lib/bench/kv-tally-worker/index.ts");
    say(`app behind the KV write shim built: ${talliedScript}`);
    // For CPU profiles (scripts/profile.ts): the app's isolate answers the DevTools protocol there; never the harness's.
    const inspectorPort = process.env.BENCH_INSPECTOR_PORT ? Number(process.env.BENCH_INSPECTOR_PORT) : undefined;
    const app = await apps.start({ scriptPath: talliedScript, inspectorPort });
    const kvWrites = async (reset = false) => {
      const res = await fetch(new URL(`/__bench/kv-writes${reset ? "?reset=1" : ""}`, app.url));
      if (!res.ok) throw new Error(`KV write shim: HTTP ${res.status}`);
      return (await res.json()) as KeyWriteSnapshot;
    };
    const startAppWorker = (v8Flags: string[] = [], bindings: Record<string, string> = {}) =>
      apps.start({ v8Flags, bindings, inspectorPort });
    const harness = await apps.start({ scriptPath: harnessScript });
    // The baseline answers "ok" at /; its other paths do only what the POST handler does against
    // Miniflare's KV and Queues simulators (which run on workerd's thread, unlike production's), so
    // the table can show what that I/O alone costs in this harness.
    const baseline = await startMiniflare({
      worker: {
        name: "baseline",
        ...apps.compatibility,
        modules: true,
        script: PROBE_SCRIPT,
        kvNamespaces: ["KV"],
        ratelimits: { RL: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 } } },
        queueProducers: { Q: "bench-probe" },
        queueConsumers: { "bench-probe": { maxBatchSize: 100, maxBatchTimeout: 1 } },
      },
    });
    local.defer(() => baseline.mf.dispose());
    say(`workerd: app ${app.url.origin}, baseline ${baseline.url.origin}, harness ${harness.url.origin}`);
    return {
      pgUrl: databaseUrl,
      pool,
      app: app.mf,
      appUrl: app.url,
      kvWrites,
      baseline: baseline.mf,
      baselineUrl: baseline.url,
      harness: harness.mf,
      harnessUrl: harness.url,
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
