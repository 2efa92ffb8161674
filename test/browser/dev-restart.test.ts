// Node side, no browser: restarting the local stack's Worker (SIGTERM as Ctrl-C ends `npm run dev`,
// then kill -9) while Postgres is unreachable loses no accepted write. Miniflare's queue is in memory
// only; the write journal in KV (src/subscribers/journal.ts), persisted under the state directory, is what
// the next process re-sends.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../scripts/lib/api-keys.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import type { LocalStack } from "../../scripts/lib/stack.ts";
import { startLocalStack } from "../../scripts/lib/stack.ts";
import type { WranglerDev } from "../../scripts/lib/wrangler-dev.ts";
import { startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";
import { SCOPES } from "../../src/auth/principal.ts";

const VARS = {
  ENVIRONMENT: "test",
  LOG_LEVEL: "warn",
  WRITE_JOURNAL: "on",
  QUEUE_RETRY_BASE_SECONDS: "1",
  QUEUE_RETRY_MAX_DELAY_SECONDS: "2",
  DEFAULT_KEY_RATE_LIMIT: "1000000",
  // Per-IP limits: wrangler.toml's bindings count them, at their own limits (global-setup.ts).
};
const PER_ROUND = 12;

const key = generateApiKey();
// Kept across the Worker's restarts, as .data/ is for `npm run dev`.
const stateDir = mkdtempSync(join(tmpdir(), "edge-api-restart-"));
// As root, Postgres runs as its own user, which must be able to reach its data directory inside.
chmodSync(stateDir, 0o755);
let stack: LocalStack;
let worker: WranglerDev;

/** A Worker on the stack's state, as `npm run dev` starts it; /health, since Postgres is away on purpose. */
async function startWorker(): Promise<WranglerDev> {
  const started = await startWranglerDev({
    port: await freePort(),
    inspectorPort: await freePort(),
    persistTo: join(stateDir, "wrangler"),
    logDir: join(stateDir, "logs"),
    testScheduled: true,
    readyPath: "/health",
    vars: {
      ...VARS,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_WS_PROXY: stack.relay.proxy,
      DATABASE_HTTP_ENDPOINT: stack.relay.httpEndpoint,
      PROVIDER_URL: stack.providerUrl,
    },
  });
  stack.defer(started.stop);
  return started;
}

beforeAll(async () => {
  stack = await startLocalStack({ database: "edge_restart", stateDir, keys: [{ key, name: "restart-test", scopes: SCOPES }] });
  worker = await startWorker();
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function create(email: string): Promise<string> {
  const res = await fetch(`${worker.url}/v1/subscribers`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ email, name: "Re", last_name: "Start" }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

describe("a restart of the local stack's Worker during a Postgres outage", () => {
  it("loses no accepted write: after SIGTERM and kill -9, each one is stored once Postgres is back", { timeout: 240_000 }, async () => {
    const domain = `restart${Date.now().toString(36)}.example.com`;
    const accepted: string[] = [];
    // Warm the key's edge copy while Postgres answers: creates then need no Postgres at all.
    await create(`warm@${domain}`).then((id) => accepted.push(id));
    await stack.relay.down();
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      for (let i = 0; i < PER_ROUND; i++) accepted.push(await create(`${signal.toLowerCase()}${i}@${domain}`));
      await worker.kill(signal);
      worker = await startWorker();
    }
    // The every-minute cron (scripts/dev.ts fires it at start-up) re-sends what the old processes queued.
    // Its other tasks fail while Postgres is away (a 500 here); the journal's runs first regardless.
    await (await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`)).body?.cancel();
    await stack.relay.up();

    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      const deadline = Date.now() + 120_000;
      let outcomes: Array<{ id: string; status: string }> = [];
      while (Date.now() < deadline) {
        outcomes = (await db.query<{ id: string; status: string }>("select id, status from operations where id = any($1)", [accepted]))
          .rows;
        if (outcomes.length === accepted.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(outcomes.length).toBe(accepted.length);
      expect(new Set(outcomes.map((o) => o.status))).toEqual(new Set(["succeeded"]));
      const stored = await db.query("select email from subscribers where email like $1", [`%@${domain}`]);
      expect(stored.rowCount).toBe(1 + 2 * PER_ROUND);
    } finally {
      await db.end();
    }
  });
});
