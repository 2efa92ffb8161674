// The local stack — embedded Postgres, migrations, the relay that stands in for Neon's proxy (its
// WebSocket and SQL-over-HTTP doors), the plan-provider stand-in and the Worker, under `wrangler dev`
// or built as deployed and run through Miniflare — started only here, for `npm run dev`, both test
// suites, the bench and the scale bench, so what they run against cannot drift apart.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyOptions } from "./api-keys.ts";
import { insertApiKey } from "./api-keys.ts";
import { freePort } from "./free-port.ts";
import { migrateDatabase } from "./migrate.ts";
import type { MiniflareApps } from "./miniflare-app.ts";
import { startApps } from "./miniflare-app.ts";
import { recreateDatabase, startPostgres } from "./postgres.ts";
import type { FaultMode, ProviderStandin } from "./provider-standin.ts";
import { startProviderStandin } from "./provider-standin.ts";
import type { RelayControl, RelayOptions } from "./relay-control.ts";
import { startRelay } from "./relay-control.ts";
import type { WranglerDev, WranglerDevOptions } from "./wrangler-dev.ts";
import { startWranglerDev } from "./wrangler-dev.ts";

type StackWorkerOptions = Omit<WranglerDevOptions, "port" | "persistTo" | "logDir" | "vars" | "signal"> & {
  /** Omitted: a free one. */
  port?: number;
  /** Omitted: <stateDir>/wrangler. */
  persistTo?: string;
  /** On top of DATABASE_URL, DATABASE_WS_PROXY, DATABASE_HTTP_ENDPOINT and PROVIDER_URL, which point at this stack. */
  vars?: Record<string, string>;
};

type StackKey = KeyOptions & { key: string };

export interface LocalStackOptions {
  /** Created if missing, then migrated. Omitted: the cluster only; prepareDatabase() makes each database ready. */
  database?: string;
  /**
   * Kept between runs: Postgres in <stateDir>/pg/db, wrangler dev's state in <stateDir>/wrangler and
   * its log file in <stateDir>/logs.
   * Omitted: a fresh temporary directory named `${tempPrefix}…`, deleted by stop().
   */
  stateDir?: string;
  tempPrefix?: string;
  /** Omitted: a free one. */
  pgPort?: number;
  /** Start from an empty database while keeping the cluster, whose initdb is the slow part. */
  recreateDatabase?: boolean;
  /** Print Postgres's own log; otherwise it is shown only when Postgres fails to start. */
  verbosePostgres?: boolean;
  relay?: Omit<RelayOptions, "pgPort">;
  /** Stand-in options, or the URL of a provider running elsewhere (then no stand-in starts). */
  provider?: { port?: number; fault?: FaultMode } | { url: string };
  /** Stored once the migrations have run. */
  keys?: StackKey[];
  /** The Worker under `wrangler dev`, started once. */
  worker?: StackWorkerOptions;
  /** The Worker built into `outDir` and run through Miniflare, as many instances as `apps.start()` is called. */
  miniflare?: { outDir: string; bindings?: Record<string, string> };
  /** Progress, one line per part as it comes up. */
  log?: (message: string) => void;
  /** Gets each failure while stopping; omitted, stop() rejects once it has tried every part. */
  onStopError?: (err: unknown) => void;
  /** Aborting during start-up stops whatever has started and rejects. */
  signal?: AbortSignal;
}

type StandinFor<P> = P extends { url: string } ? undefined : ProviderStandin;
type WorkerFor<O> = O extends { worker: StackWorkerOptions }
  ? WranglerDev
  : O extends { worker?: undefined }
    ? undefined
    : WranglerDev | undefined;
type AppsFor<O> = O extends { miniflare: object }
  ? MiniflareApps
  : O extends { miniflare?: undefined }
    ? undefined
    : MiniflareApps | undefined;

interface StackParts {
  stateDir: string;
  /** `database`'s URL; without one, the cluster's own `postgres` database (for administration). */
  databaseUrl: string;
  pgPort: number;
  relay: RelayControl;
  providerUrl: string;
  provider: ProviderStandin | undefined;
  worker: WranglerDev | undefined;
  apps: MiniflareApps | undefined;
  /** The URL of another database on the cluster (not created here). */
  databaseUrlFor(name: string): string;
  /** Migrates an existing database on the cluster and stores `keys` in it; returns its URL. */
  prepareDatabase(name: string, keys?: StackKey[]): Promise<string>;
  /** Runs `stop` when the stack stops, before its own parts (last deferred, first run). */
  defer(stop: () => unknown): void;
  stop(): Promise<void>;
}

/** With `O`, the parts the options guarantee are typed as present. */
export type LocalStack<O extends LocalStackOptions = LocalStackOptions> = Omit<StackParts, "provider" | "worker" | "apps"> & {
  provider: StandinFor<O["provider"]>;
  worker: WorkerFor<O>;
  apps: AppsFor<O>;
};

export async function startLocalStack<O extends LocalStackOptions>(opts: O): Promise<LocalStack<O>> {
  const say = opts.log ?? (() => {});
  const temporary = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), opts.tempPrefix ?? "edge-api-stack-"));
  const stops: Array<() => unknown> = [];
  const stop = async () => {
    const errors: unknown[] = [];
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (err) {
        if (opts.onStopError) opts.onStopError(err);
        else errors.push(err);
      }
    }
    if (temporary) rmSync(stateDir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, "the local stack did not stop cleanly");
  };
  const checkAbort = () => opts.signal?.throwIfAborted();

  try {
    // As root, Postgres runs as its own user and must own the data directory's parent: a temporary
    // directory is private to this run, so it can have it whole; a kept one also holds other state.
    const pgDir = temporary ? join(stateDir, "pg") : join(stateDir, "pg", "db");
    const server = await startPostgres({
      dataDir: pgDir,
      port: opts.pgPort ?? (await freePort()),
      database: opts.recreateDatabase || opts.database === undefined ? "postgres" : opts.database,
      persistent: !temporary,
      quiet: !opts.verbosePostgres,
    });
    stops.push(server.stop);
    checkAbort();
    const databaseUrlFor = (name: string) => {
      const u = new URL(server.url);
      u.pathname = `/${name}`;
      return u.toString();
    };
    const prepareDatabase = async (name: string, keys: StackKey[] = []) => {
      const url = databaseUrlFor(name);
      await migrateDatabase(url);
      for (const { key, ...keyOptions } of keys) await insertApiKey(url, key, keyOptions);
      return url;
    };
    const database = opts.database;
    const databaseUrl = opts.recreateDatabase && database !== undefined ? await recreateDatabase(server.url, database) : server.url;
    say(`postgres    ${databaseUrl} (data ${pgDir})`);

    if (database !== undefined) {
      await prepareDatabase(database, opts.keys);
      say(`migrations applied${opts.keys?.length ? `; ${opts.keys.length} API key(s) stored` : ""}`);
    }
    checkAbort();

    const relay = await startRelay({ ...opts.relay, pgPort: server.port });
    stops.push(relay.down);
    say(`db relay    ws://${relay.proxy} and ${relay.httpEndpoint}`);
    checkAbort();

    let provider: ProviderStandin | undefined;
    let providerUrl: string;
    const providerOptions = opts.provider ?? {};
    if ("url" in providerOptions) {
      providerUrl = providerOptions.url;
    } else {
      provider = await startProviderStandin(providerOptions);
      stops.push(provider.close);
      providerUrl = provider.url;
    }
    say(`provider    ${providerUrl}${provider ? "" : " (not started here)"}`);
    checkAbort();

    // What points the Worker at this stack.
    const stackVars = {
      ENVIRONMENT: "development",
      DATABASE_URL: databaseUrl,
      DATABASE_WS_PROXY: relay.proxy,
      DATABASE_HTTP_ENDPOINT: relay.httpEndpoint,
      PROVIDER_URL: providerUrl,
      // Every line and every data point locally: production's sampling (docs/operations.md "Logs") would hide them.
      LOG_SAMPLE_RATE: "1",
      METRICS_SAMPLE_INTERVAL: "1",
      // One location whose consumer shares the readers' isolate: a Cache API copy would keep showing
      // a subscriber's previous state for up to 5 s after its change (production turns it on).
      CACHE_API_READS: "off",
    };
    let worker: WranglerDev | undefined;
    if (opts.worker) {
      const { vars, ...rest } = opts.worker;
      const persistTo = rest.persistTo ?? join(stateDir, "wrangler");
      mkdirSync(persistTo, { recursive: true });
      worker = await startWranglerDev({
        ...rest,
        port: rest.port ?? (await freePort()),
        persistTo,
        logDir: join(stateDir, "logs"),
        vars: { ...stackVars, ...vars },
        signal: opts.signal,
      });
      stops.push(worker.stop);
      say(`worker      ${worker.url}`);
    }

    const apps = opts.miniflare && startApps({ ...opts.miniflare, stackVars, databaseUrlFor, defer: (s) => void stops.push(s) });
    if (apps) say(`worker      built ${apps.script}`);

    const stack: StackParts = {
      stateDir,
      databaseUrl,
      pgPort: server.port,
      relay,
      providerUrl,
      provider,
      worker,
      apps,
      databaseUrlFor,
      prepareDatabase,
      defer: (s) => void stops.push(s),
      stop,
    };
    // The conditional fields follow from `opts` by construction: a stand-in unless a URL was given,
    // a worker or apps when asked for.
    return stack as LocalStack<O>;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
