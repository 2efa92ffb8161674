// Runs the relay (WebSocket→TCP and SQL over HTTP) in its own process, so a load generator in the
// parent's event loop never delays the Worker's database traffic, or the reverse.
// Usage: node scripts/lib/relay-process.ts <pgPort> [port]   → prints "relay <port>" when listening;
// a "counts" line on stdin is answered with "counts <websocket connections> <http queries>" (counted
// here, not reported one by one, so counting costs the relay nothing under load).
import { createInterface } from "node:readline";
import { startWsRelay } from "./ws-relay.ts";

const pgPort = Number(process.argv[2]);
if (!pgPort) throw new Error("usage: relay-process.ts <pgPort> [port]");
let connections = 0;
let httpQueries = 0;
const relay = await startWsRelay({
  port: Number(process.argv[3] ?? 0),
  pgPort,
  onConnection: () => void connections++,
  onHttpQuery: () => void httpQueries++,
});
console.log(`relay ${relay.port}`);
const stop = () => void relay.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "counts") console.log(`counts ${connections} ${httpQueries}`);
});
// Exit with the parent: stdin closes when it goes away, however it ends.
input.on("close", stop);
