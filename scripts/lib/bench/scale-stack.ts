// The scale bench's runtime: the local stack (scripts/lib/stack.ts) on one Postgres cluster kept in
// .data/bench-scale (a database per size, so seeded data survives between runs), the relay in its own
// process, the provider stand-in, and the app built as deployed and run through Miniflare, one
// instance (one workerd process) per size or per cold start.
import pg from "pg";
import { generateApiKey } from "../api-keys.ts";
import type { AppInstance } from "../miniflare-app.ts";
import type { ProviderStandin } from "../provider-standin.ts";
import type { RelayControl } from "../relay-control.ts";
import { startLocalStack } from "../stack.ts";

const SCALE_DIR = ".data/bench-scale";

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

export async function startScaleStack(log: (m: string) => void): Promise<ScaleStack> {
  const stack = await startLocalStack({
    stateDir: SCALE_DIR,
    relay: { ownProcess: true },
    miniflare: {
      outDir: `${SCALE_DIR}/dist`,
      bindings: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn", PUBLIC_IP_RATE_LIMIT: "100000000" },
    },
    log: (m) => log(m.replace(/:[^:@/]+@/, ":***@")),
    // Already stopped (an instance disposed early), or going down anyway.
    onStopError: () => {},
  });
  try {
    const admin = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
    admin.on("error", () => {});
    stack.defer(() => admin.end());
    // Bulk loads of millions of rows: fewer forced checkpoints. Only this cluster's own settings file.
    await admin.query("alter system set max_wal_size = '8GB'");
    await admin.query("select pg_reload_conf()");

    const readKey = generateApiKey();
    const adminKey = generateApiKey();
    const rateLimit = { limit: 100_000_000, periodSeconds: 60 };
    const keys = [
      { key: adminKey, name: "bench-scale-admin", scopes: ["admin"], rateLimit },
      { key: readKey, name: "bench-scale-reader", scopes: ["subscribers:read"], rateLimit },
    ];
    return {
      databaseUrl: stack.databaseUrlFor,
      admin,
      relay: stack.relay,
      provider: stack.provider,
      readKey,
      adminKey,
      prepare: async (database) => void (await stack.prepareDatabase(database, keys)),
      startApp: (database) => stack.apps.start({ database }),
      stop: stack.stop,
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
