// Runs the WebSocket→TCP relay in its own process, so a load generator in the parent's event loop
// never delays the Worker's database traffic, or the reverse.
// Usage: node scripts/lib/relay-process.ts <pgPort> [port]   → prints "relay <port>" when listening;
// a "connections" line on stdin is answered with "connections <n>" (counted here, not reported per
// connection, so counting costs the relay nothing under load).
import { createInterface } from "node:readline";
import { startWsRelay } from "./ws-relay.ts";

const pgPort = Number(process.argv[2]);
if (!pgPort) throw new Error("usage: relay-process.ts <pgPort> [port]");
let connections = 0;
const relay = await startWsRelay({ port: Number(process.argv[3] ?? 0), pgPort, onConnection: () => void connections++ });
console.log(`relay ${relay.port}`);
const stop = () => void relay.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "connections") console.log(`connections ${connections}`);
});
// Exit with the parent: stdin closes when it goes away, however it ends.
input.on("close", stop);
