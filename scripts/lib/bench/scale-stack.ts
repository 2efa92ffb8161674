// The scale bench's runtime: one embedded Postgres cluster kept in .data/bench-scale (a database per
// size, so seeded data survives between runs), the WS relay in its own process, the provider
// stand-in, and the Worker built as deployed and run in workerd through the Miniflare API with
// wrangler.toml's bindings, one instance (one workerd process) per size or per cold start.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import type { V4WorkerOptions } from "miniflare";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import pg from "pg";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { generateApiKey, insertApiKey } from "../api-keys.ts";
import { freePort } from "../free-port.ts";
import { migrateDatabase } from "../migrate.ts";
import { startPostgres } from "../postgres.ts";
import type { ProviderStandin } from "../provider-standin.ts";
import { startProviderStandin } from "../provider-standin.ts";
import type { RelayControl } from "../relay-control.ts";
import { startRelay } from "../relay-control.ts";

const SCALE_DIR = ".data/bench-scale";

export interface AppInstance {
  mf: Miniflare;
  url: URL;
  /** The workerd process running it, for CPU readings from /proc. */
  pid: number;
}

export interface ScaleStack {
  /** URL of a database on the cluster (created if missing, never migrated here). */
  databaseUrl(name: string): string;
  admin: pg.Pool;
  relay: RelayControl;
  provider: ProviderStandin;
  readKey: string;
  adminKey: string;
  /** Migrates `database` and stores this run's API keys in it. */
  prepare(database: string): Promise<void>;
  /** A fresh app Worker (its own workerd process, empty KV and isolate memory) on `database`. */
  startApp(database: string): Promise<AppInstance>;
  stop(): Promise<void>;
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

export async function startScaleStack(log: (m: string) => void): Promise<ScaleStack> {
  const stops: Array<() => unknown> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch {
        // Already stopped (an instance disposed early), or going down anyway.
      }
    }
  };
  try {
    // As root, Postgres runs as its own user and must own the data directory's parent (scripts/lib/stack.ts).
    const server = await startPostgres({ dataDir: `${SCALE_DIR}/pg/db`, port: await freePort(), database: "postgres", quiet: true });
    stops.push(server.stop);
    const databaseUrl = (name: string) => {
      const u = new URL(server.url);
      u.pathname = `/${name}`;
      return u.toString();
    };
    const admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on("error", () => {});
    stops.push(() => admin.end());
    // Bulk loads of millions of rows: fewer forced checkpoints. Only this cluster's own settings file.
    await admin.query("alter system set max_wal_size = '8GB'");
    await admin.query("select pg_reload_conf()");
    log(`postgres on port ${server.port} (data ${SCALE_DIR}/pg/db)`);

    const relay = await startRelay({ pgPort: server.port, ownProcess: true });
    stops.push(relay.down);
    const provider = await startProviderStandin();
    stops.push(provider.close);

    execFileSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", `${SCALE_DIR}/dist`], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "error" },
    });
    const script = resolve(SCALE_DIR, "dist", "index.js");
    log(`worker built: ${script}`);

    const readKey = generateApiKey();
    const adminKey = generateApiKey();
    const rateLimit = { limit: 100_000_000, periodSeconds: 60 };
    const prepare = async (database: string) => {
      const url = databaseUrl(database);
      await migrateDatabase(url);
      await insertApiKey(url, adminKey, { name: "bench-scale-admin", scopes: ["admin"], rateLimit });
      await insertApiKey(url, readKey, { name: "bench-scale-reader", scopes: ["subscribers:read"], rateLimit });
    };

    // The one secret wrangler.toml requires; the bindings below point each instance at its database.
    process.env.DATABASE_URL = databaseUrl("postgres");
    const w = unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions as unknown as V4WorkerOptions;
    const startApp = async (database: string): Promise<AppInstance> => {
      const before = workerdPids();
      const mf = new Miniflare(
        convertV4MiniflareOptions({
          host: "127.0.0.1",
          log: new Log(LogLevel.WARN),
          logRequests: false,
          cf: false,
          port: await freePort(),
          workers: [
            {
              name: "app",
              compatibilityDate: w.compatibilityDate,
              compatibilityFlags: w.compatibilityFlags,
              modules: true,
              scriptPath: script,
              bindings: {
                ...w.bindings,
                ENVIRONMENT: "development",
                LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
                DATABASE_URL: databaseUrl(database),
                DATABASE_WS_PROXY: relay.proxy,
                DATABASE_HTTP_ENDPOINT: relay.httpEndpoint,
                PROVIDER_URL: provider.url,
                PUBLIC_IP_RATE_LIMIT: "100000000",
              },
              durableObjects: w.durableObjects,
              kvNamespaces: Object.keys(w.kvNamespaces ?? {}),
              queueProducers: w.queueProducers,
              queueConsumers: w.queueConsumers,
            },
          ],
        }),
      );
      stops.push(() => mf.dispose());
      const url = await mf.ready;
      const pid = [...workerdPids()].find((p) => !before.has(p));
      if (pid === undefined) throw new Error("could not find the new workerd process");
      return { mf, url, pid };
    };
    return { databaseUrl, admin, relay, provider, readKey, adminKey, prepare, startApp, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The calls made on the app's CACHE namespace, typed here: Miniflare's KV types come from a package not installed. */
export interface CacheKv {
  list(opts: { prefix?: string; cursor?: string }): Promise<{ keys: Array<{ name: string }>; list_complete: boolean; cursor?: string }>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  getWithMetadata(key: string, type: "arrayBuffer"): Promise<{ value: ArrayBuffer | null; metadata: unknown }>;
  put(key: string, value: ArrayBuffer, opts?: { metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
}

export const cacheKv = async (app: AppInstance): Promise<CacheKv> => (await app.mf.getKVNamespace("CACHE")) as unknown as CacheKv;
