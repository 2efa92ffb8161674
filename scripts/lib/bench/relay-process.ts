// Runs the WebSocket→TCP relay in its own process, so the load generator's event loop (autocannon
// runs in the bench's main process) never delays the Worker's database traffic, or the reverse.
// Usage: node scripts/lib/bench/relay-process.ts <pgPort>   → prints "relay <port>" when listening.
import { startWsRelay } from "../ws-relay.ts";

const pgPort = Number(process.argv[2]);
if (!pgPort) throw new Error("usage: relay-process.ts <pgPort>");
const relay = await startWsRelay({ port: 0, pgPort });
console.log(`relay ${relay.port}`);
const stop = () => void relay.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Exit with the parent: stdin closes when the bench process goes away, however it ends.
process.stdin.on("end", stop);
process.stdin.resume();
