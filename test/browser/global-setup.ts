// Node side of the browser tests: the real stack on free ports — embedded Postgres, the WebSocket
// relay, migrations, an admin key, the provider stand-in and the Worker under `wrangler dev` — for
// headless Chromium to drive. Without a Chromium nothing starts and the tests skip, saying why.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ALL_SCOPES, generateApiKey, insertApiKey } from "../../scripts/lib/api-keys.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { migrateDatabase } from "../../scripts/lib/migrate.ts";
import { startPostgres } from "../../scripts/lib/postgres.ts";
import { startProviderStandin } from "../../scripts/lib/provider-standin.ts";
import { startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";
import { startWsRelay } from "../../scripts/lib/ws-relay.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Empty when no Chromium was found: every browser test is then skipped. */
    chromiumPath: string;
    baseUrl: string;
    adminKey: string;
  }
}

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

export default async function setup(project: TestProject) {
  const chromium = findChromium();
  if (!chromium) {
    const why = `no Chromium at ${process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH}` : CANDIDATES.join(", ")}`;
    // CI installs Chromium (.ci/run); there a missing browser is a broken setup, not a reason to skip.
    if (process.env.CI) throw new Error(`browser tests: ${why}`);
    console.warn(`\n[browser tests] SKIPPED: ${why}. Install it (apt-get install chromium) or set CHROMIUM_PATH.\n`);
    project.provide("chromiumPath", "");
    project.provide("baseUrl", "");
    project.provide("adminKey", "");
    return;
  }

  const root = mkdtempSync(join(tmpdir(), "edge-api-browser-"));
  const stops: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error("[browser tests]", e));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const pg = await startPostgres({ dataDir: join(root, "pg"), port: await freePort(), database: "edge_browser", persistent: false, quiet: true });
    stops.push(pg.stop);
    await migrateDatabase(pg.url);
    const adminKey = generateApiKey();
    await insertApiKey(pg.url, adminKey, { name: "browser-tests", scopes: ALL_SCOPES });
    const relay = await startWsRelay({ port: await freePort(), pgPort: pg.port });
    stops.push(relay.close);
    const provider = await startProviderStandin();
    stops.push(provider.close);
    const worker = await startWranglerDev({
      port: await freePort(),
      inspectorPort: await freePort(),
      persistTo: join(root, "wrangler"),
      vars: {
        ENVIRONMENT: "test",
        LOG_LEVEL: "warn",
        DATABASE_URL: pg.url,
        DATABASE_WS_PROXY: relay.proxy,
        PROVIDER_URL: provider.url,
        // Queue retries stay short, as in the workerd tests.
        QUEUE_RETRY_BASE_SECONDS: "1",
        // Every page load comes from 127.0.0.1 with one key; the rate limit tests live in the workerd suite.
        DEFAULT_KEY_RATE_LIMIT: "1000000",
        PUBLIC_IP_RATE_LIMIT: "1000000",
      },
    });
    stops.push(worker.stop);
    project.provide("chromiumPath", chromium);
    project.provide("baseUrl", worker.url);
    project.provide("adminKey", adminKey);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
