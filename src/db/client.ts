import { neonConfig, Pool } from "@neondatabase/serverless";
import type { NeonDatabase } from "drizzle-orm/neon-serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { Config } from "../config/index.ts";
import * as schema from "./schema.ts";

export type Database = NeonDatabase<typeof schema>;
/** A transaction, as handed to `db.transaction(async (tx) => …)`. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** What repositories run on: the database itself or a transaction on it. */
export type Executor = Database | Transaction;

export interface DbHandle {
  db: Database;
  /** Ends the pool; pass to ctx.waitUntil so connections close after the response is sent. */
  close(): Promise<void>;
}

let configuredProxy: string | undefined;

function configureDriver(config: Config): void {
  const proxy = config.databaseWsProxy;
  if (!proxy || proxy === configuredProxy) return;
  // Local stack only: a plain Postgres behind scripts/lib/ws-relay.ts, no TLS, no Neon-specific
  // pipelining (which a vanilla Postgres does not understand).
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  configuredProxy = proxy;
}

/**
 * A pool per invocation: Workers cannot share sockets between requests, so the pool lives exactly as
 * long as the request, batch or cron run that created it.
 */
export function createDb(config: Config): DbHandle {
  configureDriver(config);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its socket emits 'error' on the pool; without a listener that would
  // be an uncaught exception. The next query reports the failure instead.
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}
