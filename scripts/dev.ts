// npm run dev — the whole local stack in one command:
//   embedded Postgres (.data/pg) → WebSocket relay → migrations → bootstrap admin key
//   → provider stand-in → wrangler dev --test-scheduled (KV/Queues/Cron state in .data/wrangler).
// Ctrl-C stops every child. Delete .data/ to reset all local state.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { ALL_SCOPES, insertApiKey } from "./lib/api-keys.ts";
import { migrateDatabase } from "./lib/migrate.ts";
import { startPostgres } from "./lib/postgres.ts";
import type { FaultMode } from "./lib/provider-standin.ts";
import { startProviderStandin } from "./lib/provider-standin.ts";
import { startWsRelay } from "./lib/ws-relay.ts";

const PORT = Number(process.env.PORT ?? 8787);
const PG_PORT = Number(process.env.PG_PORT ?? 54329);
const RELAY_PORT = Number(process.env.RELAY_PORT ?? 54330);
const PROVIDER_PORT = Number(process.env.PROVIDER_PORT ?? 8788);
export const DEV_ADMIN_KEY = "sk_dev_local_admin_key_change_me";
const ADMIN_KEY = process.env.BOOTSTRAP_ADMIN_KEY || DEV_ADMIN_KEY;

const stops: Array<() => Promise<void>> = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\n[dev] stopping…");
    for (const stop of stops.reverse()) await stop().catch((e) => console.error("[dev]", e));
    console.log("[dev] stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  mkdirSync(".data/wrangler", { recursive: true });
  const pg = await startPostgres({ dataDir: ".data/pg/db", port: PG_PORT, database: "edge", quiet: true });
  stops.push(pg.stop);
  console.log(`[dev] postgres     ${pg.url}`);

  const relay = await startWsRelay({ port: RELAY_PORT, pgPort: PG_PORT });
  stops.push(relay.close);
  console.log(`[dev] ws relay     ws://${relay.proxy}`);

  await migrateDatabase(pg.url);
  await insertApiKey(pg.url, ADMIN_KEY, { name: "bootstrap-admin", scopes: ALL_SCOPES });
  console.log("[dev] migrations applied; bootstrap admin key ready");

  let providerUrl = process.env.PROVIDER_URL;
  if (!providerUrl) {
    const provider = await startProviderStandin({ port: PROVIDER_PORT, fault: (process.env.PROVIDER_FAULT as FaultMode) || "none" });
    stops.push(provider.close);
    providerUrl = provider.url;
    console.log(`[dev] provider     ${provider.url}  (faults: curl -X POST 'http://127.0.0.1:${provider.port}/__fault?mode=503')`);
  }

  const wrangler = spawn(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "--test-scheduled",
      "--ip", "127.0.0.1",
      "--port", String(PORT),
      "--persist-to", ".data/wrangler",
      "--show-interactive-dev-session=false",
      "--var", `DATABASE_URL:${pg.url}`,
      "--var", `DATABASE_WS_PROXY:${relay.proxy}`,
      "--var", `PROVIDER_URL:${providerUrl}`,
    ],
    // Own process group so Ctrl-C reaches workerd too, and we can kill the whole tree.
    { stdio: ["ignore", "inherit", "inherit"], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  stops.push(
    () =>
      new Promise<void>((ok) => {
        if (wrangler.exitCode !== null) return ok();
        wrangler.once("exit", () => ok());
        try {
          process.kill(-wrangler.pid!, "SIGTERM");
        } catch {
          ok();
        }
        setTimeout(() => {
          try {
            process.kill(-wrangler.pid!, "SIGKILL");
          } catch {}
        }, 5_000).unref();
      }),
  );
  wrangler.on("exit", (code) => {
    if (!stopping) {
      console.error(`[dev] wrangler exited (${code})`);
      void shutdown(code ?? 1);
    }
  });

  const base = `http://127.0.0.1:${PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ok = await fetch(`${base}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("the Worker did not become ready within 90 s");
    await new Promise((r) => setTimeout(r, 500));
  }
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
    stops.push(async () => clearInterval(timer));
  }
  console.log(`
[dev] ready at ${base}
      page ${base}/  (paste the admin key into "API key")
      GET  ${base}/ready
      GET  ${base}/search?starts_at=2022-01-01T00:00:00Z&ends_at=2022-12-31T23:59:59Z
      cron ${base}/__scheduled?cron=*+*+*+*+*   (plan sync; also fired every minute by this script)
      admin key: ${ADMIN_KEY === DEV_ADMIN_KEY ? `${DEV_ADMIN_KEY} (dev default; set BOOTSTRAP_ADMIN_KEY to change)` : "from BOOTSTRAP_ADMIN_KEY"}
      Ctrl-C to stop everything.
`);
} catch (err) {
  console.error("[dev] failed:", err);
  await shutdown(1);
}
