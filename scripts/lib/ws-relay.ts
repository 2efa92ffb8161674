import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { createConnection } from "node:net";
import type { WebSocketServer as WsServer } from "ws";

// Required rather than imported: under Vite (vitest globalSetup) the `ws` import resolves to its
// browser stub, which has no server.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as { WebSocketServer: typeof WsServer };

export interface WsRelay {
  port: number;
  /** Value for DATABASE_WS_PROXY: the Neon driver appends `?address=host:port`. */
  proxy: string;
  close(): Promise<void>;
}

/**
 * Stands in for Neon's WebSocket proxy: each WebSocket becomes one TCP connection to the local
 * Postgres. The target is fixed here and the `address` the driver asks for is ignored, so this can
 * never be used to reach anything but that one Postgres.
 */
export async function startWsRelay(opts: { port: number; pgPort: number; host?: string; onConnection?: () => void }): Promise<WsRelay> {
  const wss = new WebSocketServer({ host: opts.host ?? "127.0.0.1", port: opts.port, perMessageDeflate: false });
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
    wss.once("listening", ok);
    wss.once("error", fail);
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    port,
    proxy: `127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((ok) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => ok());
      }),
  };
}
