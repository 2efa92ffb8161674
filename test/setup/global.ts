// Node side of the test run: the local stack (scripts/lib/stack.ts) on free ports with a fresh,
// migrated database, plus what only tests need — the Upstash bridge and a small control server, so
// tests running inside workerd can take the relay down ("database down") and steer the provider.
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../scripts/lib/free-port.ts";
import type { FaultMode } from "../../scripts/lib/provider-standin.ts";
import { loadSampleDocuments } from "../../scripts/lib/provider-standin.ts";
import { startLocalStack } from "../../scripts/lib/stack.ts";
import { startWebhookReceiver } from "../../scripts/lib/webhook-receiver.ts";
import { redisServerAvailable, startUpstashBridge } from "./upstash-bridge.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    httpEndpoint: string;
    providerUrl: string;
    controlUrl: string;
    /** Empty when no redis-server is installed: Upstash tests then skip (test/setup/skipped-summary.ts says so). */
    upstashUrl: string;
    upstashToken: string;
    /** The webhook receiver (scripts/lib/webhook-receiver.ts) on loopback. */
    webhookReceiverUrl: string;
    /** ../shared/fixtures/provider/*.xml in name order, or empty when that folder is absent. */
    sharedProviderFixtures: string[];
  }
}

export default async function setup(project: TestProject) {
  const stack = await startLocalStack({ database: "edge_test", tempPrefix: "edge-api-test-" });
  const { provider, relay } = stack;
  try {
    // CI installs redis-server (.ci/run): there, its absence is a broken setup, not a reason to skip.
    const redis = redisServerAvailable();
    if (process.env.CI && !redis) throw new Error("Upstash tests: no redis-server under CI=true");
    const upstash = redis ? await startUpstashBridge(await freePort()) : undefined;
    if (upstash) stack.defer(upstash.close);
    const receiver = await startWebhookReceiver();
    stack.defer(receiver.close);

    // POST /relay/down and /relay/up simulate Postgres becoming unreachable from the Worker, over
    // WebSocket and HTTP alike. Every database round trip the Worker makes passes the relay (a
    // WebSocket connection per pool, an HTTP request per one-shot query), so tests count them.
    const control = createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/relay/down") {
        await relay.down();
      } else if (url.pathname === "/relay/up") {
        await relay.up();
      } else if (url.pathname === "/relay/counts") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(await relay.counts()));
        return;
      } else if (url.pathname === "/provider/fault") {
        provider.setFault((url.searchParams.get("mode") ?? "none") as FaultMode);
      } else if (url.pathname === "/provider/generate") {
        const n = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
        provider.setGenerated({
          plans: n("plans", 100),
          zonesPerPlan: n("zones", 10),
          basePlanIdOffset: n("base", 10_000),
          priceShift: n("shift", 0),
        });
      } else if (url.pathname === "/provider/calls") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ calls: provider.calls() }));
        return;
      } else if (url.pathname === "/provider/documents") {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        provider.setDocuments(JSON.parse(Buffer.concat(chunks).toString("utf8")) as string[]);
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end("ok");
    });
    await new Promise<void>((ok) => control.listen(0, "127.0.0.1", ok));
    stack.defer(() => control.close());

    project.provide("databaseUrl", stack.databaseUrl);
    project.provide("wsProxy", relay.proxy);
    project.provide("httpEndpoint", relay.httpEndpoint);
    project.provide("providerUrl", stack.providerUrl);
    project.provide("upstashUrl", upstash?.url ?? "");
    project.provide("upstashToken", upstash?.token ?? "");
    // Reference responses of the real provider live beside the clone, never inside it.
    const shared = join(import.meta.dirname, "../../../shared/fixtures/provider");
    project.provide("sharedProviderFixtures", existsSync(shared) ? loadSampleDocuments(shared) : []);
    project.provide("webhookReceiverUrl", receiver.url);
    project.provide("controlUrl", `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  } catch (err) {
    await stack.stop().catch(() => {});
    throw err;
  }
  return stack.stop;
}
