import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { createConnection } from "node:net";
import type { WebSocketServer as WsServer } from "ws";
import { createNeonHttpStandin } from "./neon-http-standin.ts";

// Required rather than imported: under Vite (vitest globalSetup) the `ws` import resolves to its
// browser stub, which has no server.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as { WebSocketServer: typeof WsServer };

export interface WsRelay {
  port: number;
  /** Value for DATABASE_WS_PROXY: the Neon driver appends `?address=host:port`. */
  proxy: string;
  /** Value for DATABASE_HTTP_ENDPOINT: Neon's SQL-over-HTTP endpoint on the same port. */
  httpEndpoint: string;
  close(): Promise<void>;
}

/**
 * Stands in for Neon's proxy, both of its doors on one port, so that taking it away takes Postgres
 * away from the Worker whichever way it asks:
 * - WebSocket (the driver's Pool/Client): each WebSocket becomes one TCP connection to the local
 *   Postgres, authenticated by Postgres itself, as through Neon's WebSocket proxy.
 * - HTTP `POST /sql` (the driver's `neon()`): scripts/lib/neon-http-standin.ts, over warm pooled
 *   connections, as Neon's HTTP endpoint.
 * The target is fixed here and the host the driver asks for is ignored, so this can never be used
 * to reach anything but that one Postgres.
 */
export async function startWsRelay(opts: {
  port: number;
  pgPort: number;
  host?: string;
  onConnection?: () => void;
  onHttpQuery?: () => void;
}): Promise<WsRelay> {
  const standin = createNeonHttpStandin({ pgPort: opts.pgPort, onQuery: opts.onHttpQuery });
  const server = createServer((req, res) => standin.handle(req, res));
  // Node closes an idle kept-alive connection after 5 s by default, and a request the Worker sends on
  // it just then is lost ("Network connection lost", seen under load). Neon's endpoint keeps them far
  // longer; so does this, leaving the closing to the client, which races with nothing.
  server.keepAliveTimeout = 10 * 60_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    opts.onConnection?.();
    const tcp = createConnection({ host: "127.0.0.1", port: opts.pgPort });
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    let connected = false;
    tcp.on("connect", () => {
      connected = true;
      for (const chunk of pending) tcp.write(chunk);
      pending.length = 0;
    });
    ws.on("message", (data: Buffer) => (connected ? tcp.write(data) : pending.push(data)));
    tcp.on("data", (data) => ws.send(data));
    ws.on("close", () => tcp.destroy());
    ws.on("error", () => tcp.destroy());
    tcp.on("close", () => ws.close());
    tcp.on("error", () => ws.terminate());
  });
  await new Promise<void>((ok, fail) => {
    server.once("listening", ok);
    server.once("error", fail);
    server.listen(opts.port, opts.host ?? "127.0.0.1");
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    proxy: `127.0.0.1:${port}/v1`,
    httpEndpoint: `http://127.0.0.1:${port}/sql`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      // Kept-alive HTTP connections too: from the Worker, Postgres is gone on every path at once.
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await closed;
      await standin.close();
    },
  };
}
