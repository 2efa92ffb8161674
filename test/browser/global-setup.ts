// Node side of the browser tests: the local stack (scripts/lib/stack.ts) on free ports with an admin
// key and the Worker under `wrangler dev`, for headless Chromium (chromium.ts) to drive. Without a
// Chromium nothing starts and the tests skip, saying why.
import type { TestProject } from "vitest/node";
import { generateApiKey } from "../../scripts/lib/api-keys.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { startLocalStack } from "../../scripts/lib/stack.ts";
import { SCOPES } from "../../src/auth/principal.ts";
import { findChromium } from "./chromium.ts";
import { emailsIn, emailsInLocalFiles } from "./no-emails.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Empty when no Chromium was found: every browser test is then skipped. */
    chromiumPath: string;
    baseUrl: string;
    adminKey: string;
    /** The stack's Postgres, for tests that check what was stored (not only what the API says). */
    databaseUrl: string;
    /** The provider stand-in's feed URL; its fault control is `POST <origin>/__fault?mode=…`. */
    providerUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const chromium = await findChromium();
  if ("missing" in chromium) {
    // CI must run them; there a missing browser is a broken setup, not a reason to skip.
    if (process.env.CI) throw new Error(`browser tests: ${chromium.missing}`);
    console.warn(`\n[browser tests] SKIPPED: ${chromium.missing}. Install Chromium (apt-get install chromium) or set CHROMIUM_PATH.\n`);
    project.provide("chromiumPath", "");
    project.provide("baseUrl", "");
    project.provide("adminKey", "");
    project.provide("databaseUrl", "");
    project.provide("providerUrl", "");
    return;
  }
  console.log(`[browser tests] Chromium: ${chromium.source}, ${chromium.path}`);

  const adminKey = generateApiKey();
  const printedEmails: string[] = [];
  const stack = await startLocalStack({
    database: "edge_browser",
    tempPrefix: "edge-api-browser-",
    keys: [{ key: adminKey, name: "browser-tests", scopes: SCOPES }],
    worker: {
      inspectorPort: await freePort(),
      onLine: (line) => printedEmails.push(...emailsIn("wrangler output", line)),
      vars: {
        ENVIRONMENT: "test",
        LOG_LEVEL: "warn",
        // Queue retries stay short, as in the workerd tests.
        QUEUE_RETRY_BASE_SECONDS: "1",
        // Every page load comes from 127.0.0.1 with one key; the rate limit tests live in the workerd suite.
        DEFAULT_KEY_RATE_LIMIT: "1000000",
        // The per-IP limits are counted by wrangler.toml's rate limiting bindings, which `wrangler dev`
        // cannot be told to lift: the suite stays within them (300 public requests and 100 key lookups
        // a minute from 127.0.0.1), and the vars that label them keep their defaults.
      },
    },
    onStopError: (e) => console.error("[browser tests]", e),
  });
  project.provide("chromiumPath", chromium.path);
  project.provide("baseUrl", stack.worker.url);
  project.provide("adminKey", adminKey);
  project.provide("databaseUrl", stack.databaseUrl);
  project.provide("providerUrl", stack.providerUrl);
  return async () => {
    // Read before stop(), which deletes the temporary state directory.
    const leaks = [...printedEmails, ...emailsInLocalFiles(stack.stateDir)];
    await stack.stop();
    if (leaks.length > 0) throw new Error(`emails reached local logs or traces:\n${leaks.slice(0, 20).join("\n")}`);
  };
}
