// The local stack — embedded Postgres, migrations, the relay that stands in for Neon's proxy (its
// WebSocket and SQL-over-HTTP doors), the plan-provider stand-in and, when asked, the Worker under
// `wrangler dev` — started one way for `npm run dev`, both test suites and the bench, so what they run
// against cannot drift apart.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyOptions } from "./api-keys.ts";
import { insertApiKey } from "./api-keys.ts";
import { freePort } from "./free-port.ts";
import { migrateDatabase } from "./migrate.ts";
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
  /** On top of ENVIRONMENT=development and DATABASE_URL, DATABASE_WS_PROXY, DATABASE_HTTP_ENDPOINT and PROVIDER_URL, which point at this stack. */
  vars?: Record<string, string>;
};

export interface LocalStackOptions {
  database: string;
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
  keys?: Array<KeyOptions & { key: string }>;
  worker?: StackWorkerOptions;
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

interface StackParts {
  stateDir: string;
  databaseUrl: string;
  pgPort: number;
  relay: RelayControl;
  providerUrl: string;
  provider: ProviderStandin | undefined;
  worker: WranglerDev | undefined;
  /** Runs `stop` when the stack stops, before its own parts (last deferred, first run). */
  defer(stop: () => unknown): void;
  stop(): Promise<void>;
}

/** With `O`, the parts the options guarantee are typed as present. */
export type LocalStack<O extends LocalStackOptions = LocalStackOptions> = Omit<StackParts, "provider" | "worker"> & {
  provider: StandinFor<O["provider"]>;
  worker: WorkerFor<O>;
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
      database: opts.recreateDatabase ? "postgres" : opts.database,
      persistent: !temporary,
      quiet: !opts.verbosePostgres,
    });
    stops.push(server.stop);
    checkAbort();
    const databaseUrl = opts.recreateDatabase ? await recreateDatabase(server.url, opts.database) : server.url;
    say(`postgres    ${databaseUrl} (data ${pgDir})`);

    await migrateDatabase(databaseUrl);
    for (const { key, ...keyOptions } of opts.keys ?? []) await insertApiKey(databaseUrl, key, keyOptions);
    say(`migrations applied${opts.keys?.length ? `; ${opts.keys.length} API key(s) stored` : ""}`);
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
        vars: {
          ENVIRONMENT: "development",
          DATABASE_URL: databaseUrl,
          DATABASE_WS_PROXY: relay.proxy,
          DATABASE_HTTP_ENDPOINT: relay.httpEndpoint,
          PROVIDER_URL: providerUrl,
          ...vars,
        },
        signal: opts.signal,
      });
      stops.push(worker.stop);
      say(`worker      ${worker.url}`);
    }

    const stack: StackParts = {
      stateDir,
      databaseUrl,
      pgPort: server.port,
      relay,
      providerUrl,
      provider,
      worker,
      defer: (s) => void stops.push(s),
      stop,
    };
    // The conditional fields follow from `opts` by construction: a stand-in unless a URL was given,
    // a worker when one was asked for.
    return stack as LocalStack<O>;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
