// npm run dev — the whole local stack in one command (scripts/lib/stack.ts): embedded Postgres
// (.data/pg) → migrations → bootstrap admin key → WebSocket relay → provider stand-in →
// wrangler dev --test-scheduled (KV/Queues/Cron state in .data/wrangler).
// Ctrl-C stops every child. Delete .data/ to reset all local state.

import { SCOPES } from "../src/auth/principal.ts";
import type { FaultMode } from "./lib/provider-standin.ts";
import { startLocalStack } from "./lib/stack.ts";

const PORT = Number(process.env.PORT ?? 8787);
const PG_PORT = Number(process.env.PG_PORT ?? 54329);
const RELAY_PORT = Number(process.env.RELAY_PORT ?? 54330);
const PROVIDER_PORT = Number(process.env.PROVIDER_PORT ?? 8788);
export const DEV_ADMIN_KEY = "sk_dev_local_admin_key_change_me";
const ADMIN_KEY = process.env.BOOTSTRAP_ADMIN_KEY || DEV_ADMIN_KEY;

const log = (m: string) => console.log(`[dev] ${m}`);
let stopping = false;
// Ctrl-C during start-up must stop what has already started, not only a finished stack.
const startup = new AbortController();
const starting = startLocalStack({
  database: "edge",
  stateDir: ".data",
  pgPort: PG_PORT,
  relay: { port: RELAY_PORT },
  provider: process.env.PROVIDER_URL
    ? { url: process.env.PROVIDER_URL }
    : { port: PROVIDER_PORT, fault: (process.env.PROVIDER_FAULT as FaultMode) || "none" },
  keys: [{ key: ADMIN_KEY, name: "bootstrap-admin", scopes: SCOPES }],
  worker: {
    port: PORT,
    testScheduled: true,
    // Miniflare's queue lives in memory: journal every accepted write in KV (.data/wrangler), so a
    // restart loses none of them; the cron tick below re-sends them (src/subscribers/journal.ts).
    vars: { WRITE_JOURNAL: process.env.WRITE_JOURNAL ?? "on" },
    output: "inherit",
    onExit: (code) => {
      if (stopping) return;
      console.error(`[dev] wrangler exited (${code})`);
      void shutdown(code ?? 1);
    },
  },
  log,
  onStopError: (e) => console.error("[dev]", e),
  signal: startup.signal,
});

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\n[dev] stopping…");
    startup.abort();
    // A failed start-up has already stopped its parts.
    await starting.then(
      (stack) => stack.stop(),
      () => {},
    );
    console.log("[dev] stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  const stack = await starting;
  const base = stack.worker.url;
  // wrangler dev runs scheduled() only when asked (/__scheduled); fire the every-minute plan sync the
  // way Cron Triggers would, starting now so /search has data at once. DEV_CRON=off turns it off.
  if (process.env.DEV_CRON !== "off") {
    const tick = () =>
      void fetch(`${base}/__scheduled?cron=*+*+*+*+*`).then(
        (r) => r.body?.cancel(),
        () => {},
      );
    tick();
    const timer = setInterval(tick, 60_000);
    stack.defer(() => clearInterval(timer));
  }
  const faults = stack.provider ? `\n      faults curl -X POST 'http://127.0.0.1:${stack.provider.port}/__fault?mode=503'` : "";
  console.log(`
[dev] ready at ${base}
      page ${base}/  (paste the admin key into "API key")
      GET  ${base}/ready
      GET  ${base}/search?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z
      cron ${base}/__scheduled?cron=*+*+*+*+*   (plan sync; also fired every minute by this script)${faults}
      admin key: ${ADMIN_KEY === DEV_ADMIN_KEY ? `${DEV_ADMIN_KEY} (dev default; set BOOTSTRAP_ADMIN_KEY to change)` : "from BOOTSTRAP_ADMIN_KEY"}
      Ctrl-C to stop everything.
`);
} catch (err) {
  if (!stopping) {
    console.error("[dev] failed:", err);
    await shutdown(1);
  }
}
