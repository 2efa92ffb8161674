import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { WsRelay } from "./ws-relay.ts";
import { startWsRelay } from "./ws-relay.ts";

/** Database round trips the relay has carried since start, across down/up. */
interface RelayCounts {
  /** WebSocket connections: each is one Postgres connection (a Pool's, for one invocation). */
  connections: number;
  /** HTTP queries (POST /sql): each is one statement, or one batch run as a transaction. */
  httpQueries: number;
}

/**
 * The relay the Neon driver needs (WebSocket and SQL-over-HTTP on one port), with the switch tests
 * use to make Postgres vanish.
 */
export interface RelayControl {
  port: number;
  /** Value for DATABASE_WS_PROXY. */
  proxy: string;
  /** Value for DATABASE_HTTP_ENDPOINT. */
  httpEndpoint: string;
  /** Closes the relay and cuts its connections: from the Worker, Postgres is now unreachable. */
  down(): Promise<void>;
  /** Listens again on the same port, so the Worker's DATABASE_WS_PROXY and DATABASE_HTTP_ENDPOINT stay right. */
  up(): Promise<void>;
  counts(): Promise<RelayCounts>;
}

export interface RelayOptions {
  pgPort: number;
  /** Omitted or 0: one the OS picks. */
  port?: number;
  /** Relay in a child process, so a load generator in this event loop cannot delay it (the bench). */
  ownProcess?: boolean;
}

export async function startRelay(opts: RelayOptions): Promise<RelayControl> {
  return opts.ownProcess ? relayInChild(opts.pgPort, opts.port ?? 0) : relayInProcess(opts.pgPort, opts.port ?? 0);
}

async function relayInProcess(pgPort: number, wanted: number): Promise<RelayControl> {
  const counts: RelayCounts = { connections: 0, httpQueries: 0 };
  const start = (port: number) =>
    startWsRelay({ port, pgPort, onConnection: () => void counts.connections++, onHttpQuery: () => void counts.httpQueries++ });
  let relay: WsRelay | undefined = await start(wanted);
  const port = relay.port;
  return {
    port,
    proxy: relay.proxy,
    httpEndpoint: relay.httpEndpoint,
    down: async () => {
      await relay?.close();
      relay = undefined;
    },
    up: async () => {
      relay ??= await start(port);
    },
    counts: async () => ({ ...counts }),
  };
}

const RELAY_SCRIPT = fileURLToPath(new URL("./relay-process.ts", import.meta.url));

async function spawnRelay(pgPort: number, wanted: number) {
  const child = spawn(process.execPath, [RELAY_SCRIPT, String(pgPort), String(wanted)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((ok, fail) => {
    child.once("exit", (code) => fail(new Error(`relay exited (${code})`)));
    lines.on("line", (l) => {
      const m = /^relay (\d+)$/.exec(l);
      if (m) ok(Number(m[1]));
    });
  });
  const counts = () =>
    new Promise<RelayCounts>((ok, fail) => {
      const onExit = () => fail(new Error("relay exited before answering"));
      const onLine = (l: string) => {
        const m = /^counts (\d+) (\d+)$/.exec(l);
        if (!m) return;
        lines.off("line", onLine);
        child.off("exit", onExit);
        ok({ connections: Number(m[1]), httpQueries: Number(m[2]) });
      };
      lines.on("line", onLine);
      child.once("exit", onExit);
      child.stdin.write("counts\n");
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  return { port, counts, stop };
}

async function relayInChild(pgPort: number, wanted: number): Promise<RelayControl> {
  let child: Awaited<ReturnType<typeof spawnRelay>> | undefined = await spawnRelay(pgPort, wanted);
  const port = child.port;
  // A restarted child counts from zero; what its predecessors saw is carried here.
  const carried: RelayCounts = { connections: 0, httpQueries: 0 };
  const add = (c: RelayCounts) => {
    carried.connections += c.connections;
    carried.httpQueries += c.httpQueries;
  };
  return {
    port,
    proxy: `127.0.0.1:${port}/v1`,
    httpEndpoint: `http://127.0.0.1:${port}/sql`,
    down: async () => {
      if (!child) return;
      add(await child.counts().catch(() => ({ connections: 0, httpQueries: 0 })));
      await child.stop();
      child = undefined;
    },
    up: async () => {
      child ??= await spawnRelay(pgPort, port);
    },
    counts: async () => {
      const now = child ? await child.counts() : { connections: 0, httpQueries: 0 };
      return { connections: carried.connections + now.connections, httpQueries: carried.httpQueries + now.httpQueries };
    },
  };
}
