// Stands in for Neon's SQL-over-HTTP endpoint (what `neon()` from @neondatabase/serverless and
// drizzle-orm/neon-http call) in front of a plain local Postgres, answering as Neon's proxy does
// (neondatabase/neon, proxy/src/serverless/sql_over_http.rs): POST /sql with the connection string in
// `Neon-Connection-String`, one statement or a batch `{queries:[…]}` run as one transaction, text
// values (`Neon-Raw-Text-Output`) so that the driver's own type parsers run, rows as arrays or
// objects (`Neon-Array-Mode`, or `arrayMode` per query), Postgres errors as HTTP 400 with their
// fields, anything else as a 5xx the driver reports without a SQLSTATE. Like Neon it keeps warm
// server-side connections per (user, password, database), checks the password by connecting with it,
// runs every statement through the extended protocol (one statement per query), drops a connection
// whose statement failed, and refuses responses above Neon's size limit.
import type { IncomingMessage, ServerResponse } from "node:http";
import pg from "pg";
import type { QueryData } from "./neon-http-wire.ts";
import { errorResponse, HttpError, header, parsePayload, readBody } from "./neon-http-wire.ts";

/** Neon's default `max_response_size_bytes` (10 MiB). */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** Server-side connections kept per (user, password, database); Neon's pool keeps them warm too. */
const POOL_SIZE = 20;
const POOL_IDLE_MS = 5 * 60_000;

const ISOLATION: Record<string, string> = {
  Serializable: "SERIALIZABLE",
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
};

/** Every value exactly as Postgres sent it (text), as Neon returns it with Neon-Raw-Text-Output. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

interface Options {
  arrayMode: boolean;
  isolation: string | undefined;
  readOnly: boolean;
  deferrable: boolean;
}

export interface NeonHttpStandin {
  /** Answers one HTTP request (POST /sql); anything else is a 404. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every server-side connection. */
  close(): Promise<void>;
}

export function createNeonHttpStandin(opts: { pgPort: number; pgHost?: string; onQuery?: () => void }): NeonHttpStandin {
  const pools = new Map<string, pg.Pool>();

  const poolFor = (connectionString: string | undefined): pg.Pool => {
    if (!connectionString) throw new HttpError(400, "missing connection string (Neon-Connection-String header)");
    let url: URL;
    try {
      url = new URL(connectionString);
    } catch {
      throw new HttpError(400, "invalid connection string");
    }
    if (!/^postgres(ql)?:$/.test(url.protocol) || !url.username || url.pathname.length < 2) {
      throw new HttpError(400, "invalid connection string: missing user or database");
    }
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    const database = decodeURIComponent(url.pathname.slice(1));
    // The host and port asked for are ignored, as the WebSocket relay ignores its `address`: this
    // reaches one Postgres only.
    const key = JSON.stringify([user, password, database]);
    let pool = pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        host: opts.pgHost ?? "127.0.0.1",
        port: opts.pgPort,
        user,
        password,
        database,
        application_name: url.searchParams.get("application_name") ?? undefined,
        max: POOL_SIZE,
        idleTimeoutMillis: POOL_IDLE_MS,
      });
      pool.on("error", () => {}); // an idle connection cut by Postgres; the next checkout reconnects
      pools.set(key, pool);
    }
    return pool;
  };

  const run = async (client: pg.PoolClient, q: QueryData, o: Options) => {
    const arrayMode = q.arrayMode ?? o.arrayMode;
    // queryMode "extended" (pg ≥ 8.12, not in @types/pg): one statement per query, as Neon's proxy
    // runs it, so "select 1; select 2" is an error here as it is there.
    const config = { text: q.query, values: q.params, types: RAW_TEXT, queryMode: "extended", ...(arrayMode ? { rowMode: "array" } : {}) };
    const result: pg.QueryResult = await client.query(config as pg.QueryConfig);
    return {
      rowAsArray: arrayMode,
      fields: result.fields.map((f) => ({
        name: f.name,
        dataTypeID: f.dataTypeID,
        tableID: f.tableID,
        columnID: f.columnID,
        dataTypeSize: f.dataTypeSize,
        dataTypeModifier: f.dataTypeModifier,
        format: "text",
      })),
      rows: result.rows as unknown[],
      command: result.command,
      rowCount: result.rowCount,
    };
  };

  const execute = async (req: IncomingMessage, res: ServerResponse) => {
    const pool = poolFor(header(req, "neon-connection-string"));
    if (header(req, "neon-raw-text-output") !== "true") {
      throw new HttpError(400, "this stand-in answers only Neon-Raw-Text-Output: true (what @neondatabase/serverless sends)");
    }
    const isolationHeader = header(req, "neon-batch-isolation-level");
    const isolation = isolationHeader === undefined ? undefined : ISOLATION[isolationHeader];
    if (isolationHeader !== undefined && !isolation) throw new HttpError(400, "invalid isolation level");
    const o: Options = {
      arrayMode: header(req, "neon-array-mode") === "true",
      isolation,
      readOnly: header(req, "neon-batch-read-only") === "true",
      deferrable: header(req, "neon-batch-deferrable") === "true",
    };
    const payload = parsePayload(await readBody(req));

    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      // Postgres refused the login (a wrong password, a missing database): its error, as a 400.
      if (err instanceof pg.DatabaseError) throw err;
      throw new HttpError(500, "Couldn't connect to compute node");
    }
    let broken = false;
    try {
      let body: unknown;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (Array.isArray(payload)) {
        const mode = [o.isolation && `ISOLATION LEVEL ${o.isolation}`, o.readOnly && "READ ONLY", o.deferrable && "DEFERRABLE"];
        await client.query(["BEGIN", ...mode.filter(Boolean)].join(" "));
        const results = [];
        try {
          for (const q of payload) results.push(await run(client, q, o));
          await client.query("COMMIT");
        } catch (err) {
          // A batch that failed is rolled back; the connection goes back to the pool if that worked.
          await client.query("ROLLBACK").catch(() => {
            broken = true;
          });
          throw err;
        }
        body = { results };
        if (isolationHeader) headers["neon-batch-isolation-level"] = isolationHeader;
        if (o.readOnly) headers["neon-batch-read-only"] = "true";
        if (o.deferrable) headers["neon-batch-deferrable"] = "true";
      } else {
        try {
          body = await run(client, payload, o);
        } catch (err) {
          // Neon drops a connection whose statement failed rather than return it to its pool.
          broken = true;
          throw err;
        }
      }
      const json = JSON.stringify(body);
      if (Buffer.byteLength(json) > MAX_RESPONSE_BYTES) {
        throw new HttpError(507, `response is too large (max is ${MAX_RESPONSE_BYTES} bytes)`);
      }
      res.writeHead(200, headers).end(json);
    } finally {
      client.release(broken);
    }
  };

  return {
    handle(req, res) {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/sql" || req.method !== "POST") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "not found" }));
        return;
      }
      opts.onQuery?.();
      execute(req, res).catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        const [status, body] = errorResponse(err);
        res.writeHead(status, { "content-type": "application/json", "access-control-allow-origin": "*" }).end(JSON.stringify(body));
      });
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.end().catch(() => {})));
    },
  };
}
