import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { GenerateOptions } from "./generate-plans.ts";
import { generatePlanDocument } from "./generate-plans.ts";

const FAULT_MODES = ["none", "503", "503-empty", "slow", "hang", "truncated", "garbage", "billion-laughs"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface ProviderStandin {
  port: number;
  url: string;
  setFault(mode: FaultMode): void;
  /** Serve these documents (in rotation) instead of the bundled samples. */
  setDocuments(docs: string[]): void;
  /** Serve a generated document (streamed, never held whole in memory) until documents are set again. */
  setGenerated(opts: GenerateOptions | null): void;
  calls(): number;
  close(): Promise<void>;
}

const SAMPLES_DIR = fileURLToPath(new URL("../../test/fixtures/provider", import.meta.url));

export function loadSampleDocuments(dir = SAMPLES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".xml"))
    .sort()
    .map((f) => readFileSync(`${dir}/${f}`, "utf8"));
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<planList><output><base_plan base_plan_id="1" sell_mode="online" title="&lol4;"></base_plan></output></planList>`;

/**
 * A local stand-in for the plan provider: GET /api/events returns the documents in rotation like
 * consecutive calls of the real feed, with an ETag (and 304 on If-None-Match). Faults are switched
 * with `POST /__fault?mode=<mode>` or the PROVIDER_FAULT environment variable.
 */
export async function startProviderStandin(
  opts: { port?: number; documents?: string[]; fault?: FaultMode } = {},
): Promise<ProviderStandin> {
  let docs = opts.documents ?? loadSampleDocuments();
  let fault: FaultMode = opts.fault ?? "none";
  let calls = 0;
  let generated: GenerateOptions | null = null;
  const hanging = new Set<import("node:http").ServerResponse>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "POST" && url.pathname === "/__fault") {
      const mode = url.searchParams.get("mode") as FaultMode | null;
      if (!mode || !FAULT_MODES.includes(mode)) {
        res.writeHead(400, { "content-type": "text/plain" }).end(`mode must be one of ${FAULT_MODES.join(", ")}\n`);
        return;
      }
      fault = mode;
      res.writeHead(200, { "content-type": "text/plain" }).end(`fault=${mode}\n`);
      return;
    }
    if (req.method !== "GET" || url.pathname !== "/api/events") {
      res.writeHead(404).end();
      return;
    }
    if (generated && fault === "none") {
      calls++;
      res.writeHead(200, { "content-type": "application/xml; charset=utf-8" });
      const chunks = generatePlanDocument(generated);
      // Respect backpressure so a 100 MB document streams without piling up in memory.
      const pump = () => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (!res.write(next.value)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
      return;
    }
    const doc = docs[calls % docs.length] ?? "";
    calls++;
    switch (fault) {
      case "503":
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: "Service Unavailable" }));
        return;
      case "503-empty":
        res.writeHead(503).end();
        return;
      case "hang":
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      case "truncated":
        res.writeHead(200, { "content-type": "application/xml" }).end(doc.slice(0, Math.floor(doc.length / 2)));
        return;
      case "garbage":
        res.writeHead(200, { "content-type": "application/xml" }).end("<html><body>Gateway error</body>\u0000\u0001not xml");
        return;
      case "billion-laughs":
        res.writeHead(200, { "content-type": "application/xml" }).end(BILLION_LAUGHS);
        return;
    }
    const etag = `"${createHash("sha256").update(doc).digest("hex").slice(0, 16)}"`;
    const send = () => {
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag }).end();
      } else {
        res.writeHead(200, { "content-type": "application/xml; charset=utf-8", etag }).end(doc);
      }
    };
    if (fault === "slow") setTimeout(send, 5_000);
    else send();
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, "127.0.0.1", ok);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/api/events`,
    setFault: (mode) => (fault = mode),
    setGenerated: (opts) => {
      generated = opts;
    },
    setDocuments: (d) => {
      generated = null;
      docs = d;
      calls = 0;
    },
    calls: () => calls,
    close: () =>
      new Promise<void>((ok) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
