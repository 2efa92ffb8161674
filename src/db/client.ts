import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import type { NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import type { NeonDatabase } from "drizzle-orm/neon-serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Config } from "../config/index.ts";
import { count } from "../lib/meter.ts";
import * as schema from "./schema.ts";

/** The WebSocket pool: interactive transactions (queue consumers, plan sync, webhook relay, cron). */
export type Database = NeonDatabase<typeof schema>;
/** A transaction, as handed to `db.transaction(async (tx) => …)`. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** What repositories that write inside transactions run on: the pool itself or a transaction on it. */
export type Executor = Database | Transaction;

type Rows<T> = { rows: T[] };
/** `execute()` results as every driver here returns them: at least the rows. */
interface RowsResultHKT extends PgQueryResultHKT {
  type: Rows<this["row"]>;
}
/**
 * What repository functions that only read run on: Neon's HTTP client (one round trip per statement),
 * the pool, or a transaction. Each is a PgDatabase of the same schema; this is their common part.
 */
export type Reader = PgDatabase<RowsResultHKT, typeof schema>;

export interface DbHandle {
  db: Database;
  /** Ends the pool; pass to ctx.waitUntil so connections close after the response is sent. */
  close(): Promise<void>;
}

/**
 * An HTTP query has no deadline of its own (fetch waits as long as the server does); past this one it
 * is abandoned and reported like an unreachable database (a 503). The pool's connect timeout is the same.
 */
const QUERY_TIMEOUT_MS = 5_000;

/** Drizzle reports every statement it sends (transaction control included): one round trip each. */
const roundTrips = { logQuery: () => count("db_round_trips") };

let configuredFor: Config | undefined;

function configureDriver(config: Config): void {
  if (configuredFor === config) return;
  const proxy = config.databaseWsProxy;
  if (proxy) {
    // Local stack only: a plain Postgres behind scripts/lib/ws-relay.ts, no TLS, no Neon-specific
    // pipelining (which a vanilla Postgres does not understand).
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  // Local stack only: the SQL-over-HTTP stand-in on the same relay. Production keeps the driver's
  // default, https://api.<region host>/sql, derived from DATABASE_URL's host.
  if (config.databaseHttpEndpoint) neonConfig.fetchEndpoint = config.databaseHttpEndpoint;
  // Plain data and a function, no I/O object: safe to keep for the isolate. The signal is made per call.
  neonConfig.fetchFunction = (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
  configuredFor = config;
}

/**
 * A pool per invocation: Workers cannot share sockets between requests, so the pool lives exactly as
 * long as the request, batch or cron run that created it. Each opens a WebSocket and authenticates a
 * Postgres session, so it is for work that needs a session: transactions, advisory locks.
 */
export function createDb(config: Config): DbHandle {
  configureDriver(config);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its socket emits 'error' on the pool; without a listener that would
  // be an uncaught exception. The next query reports the failure instead.
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema, logger: roundTrips }), close: () => pool.end() };
}

const readers = new WeakMap<Config, NeonHttpDatabase<typeof schema>>();

/**
 * Neon's HTTP client: each statement is one HTTPS request that Neon runs on a connection from its own
 * warm pool, so there is no socket, WebSocket upgrade or Postgres start-up to pay per invocation and
 * nothing to close. It holds no connection or promise, only the connection string and drizzle's
 * schema tables, so one per config (per isolate) serves every request.
 */
export function createReader(config: Config): NeonHttpDatabase<typeof schema> {
  configureDriver(config);
  let reader = readers.get(config);
  if (!reader) {
    reader = drizzleHttp({ client: neon(config.databaseUrl), schema, logger: roundTrips });
    readers.set(config, reader);
  }
  return reader;
}
