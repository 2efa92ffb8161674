import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { WsRelay } from "./ws-relay.ts";
import { startWsRelay } from "./ws-relay.ts";

/** The WebSocket relay the Neon driver needs, with the switch tests use to make Postgres vanish. */
export interface RelayControl {
  port: number;
  /** Value for DATABASE_WS_PROXY. */
  proxy: string;
  /** Closes the relay and cuts its connections: from the Worker, Postgres is now unreachable. */
  down(): Promise<void>;
  /** Listens again on the same port, so the Worker's DATABASE_WS_PROXY stays right. */
  up(): Promise<void>;
  /** WebSocket connections accepted since start, across down/up: each is one database connection. */
  connections(): Promise<number>;
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
  let count = 0;
  const start = (port: number) => startWsRelay({ port, pgPort, onConnection: () => void count++ });
  let relay: WsRelay | undefined = await start(wanted);
  const port = relay.port;
  return {
    port,
    proxy: relay.proxy,
    down: async () => {
      await relay?.close();
      relay = undefined;
    },
    up: async () => {
      relay ??= await start(port);
    },
    connections: async () => count,
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
  const connections = () =>
    new Promise<number>((ok, fail) => {
      const onExit = () => fail(new Error("relay exited before answering"));
      const onLine = (l: string) => {
        const m = /^connections (\d+)$/.exec(l);
        if (!m) return;
        lines.off("line", onLine);
        child.off("exit", onExit);
        ok(Number(m[1]));
      };
      lines.on("line", onLine);
      child.once("exit", onExit);
      child.stdin.write("connections\n");
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  return { port, connections, stop };
}

async function relayInChild(pgPort: number, wanted: number): Promise<RelayControl> {
  let child: Awaited<ReturnType<typeof spawnRelay>> | undefined = await spawnRelay(pgPort, wanted);
  const port = child.port;
  // A restarted child counts from zero; what its predecessors saw is carried here.
  let carried = 0;
  return {
    port,
    proxy: `127.0.0.1:${port}/v1`,
    down: async () => {
      if (!child) return;
      carried += await child.connections().catch(() => 0);
      await child.stop();
      child = undefined;
    },
    up: async () => {
      child ??= await spawnRelay(pgPort, port);
    },
    connections: async () => carried + (child ? await child.connections() : 0),
  };
}
