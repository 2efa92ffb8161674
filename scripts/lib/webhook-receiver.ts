// A real HTTP receiver for webhook tests and the bench: it verifies every delivery's Standard Webhooks
// signature with the same library the Worker signs with, records what arrived, and answers as told.
// One receiver serves many named hooks (POST /hooks/<name>), each with its own secrets and script, so
// concurrent tests do not see each other's deliveries.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { HookBehaviour, Received, Step } from "./webhook-receiver-types.ts";

interface Hook {
  behaviour: HookBehaviour;
  requests: number;
  received: Received[];
}

export interface WebhookReceiver {
  /** Base URL; a hook's URL is `${url}/hooks/<name>`. Control: POST/GET/DELETE `${url}/control/<name>`. */
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function verify(secrets: string[], body: string, headers: Record<string, string>): number {
  for (const [i, secret] of secrets.entries()) {
    try {
      new Webhook(secret).verify(body, headers);
      return i;
    } catch {
      // Try the next secret.
    }
  }
  return -1;
}

export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const hooks = new Map<string, Hook>();
  const hanging = new Set<ServerResponse>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const [, area, name] = url.pathname.split("/");
    const body = await readBody(req);
    if (area === "control" && name) {
      if (req.method === "POST") hooks.set(name, { behaviour: JSON.parse(body) as HookBehaviour, requests: 0, received: [] });
      if (req.method === "DELETE") hooks.delete(name);
      const hook = hooks.get(name);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ received: hook?.received ?? [], requests: hook?.requests ?? 0 }));
      return;
    }
    const hook = area === "hooks" && name ? hooks.get(name) : undefined;
    if (!hook || req.method !== "POST") {
      res.writeHead(404).end();
      return;
    }
    const b = hook.behaviour;
    const n = hook.requests++;
    const step: Step = b.script?.[n] ?? (b.failRate && Math.random() < b.failRate ? 500 : (b.otherwise ?? 200));
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    let parsed: { type?: string; data?: unknown } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      // Recorded as received with no type: the test sees it.
    }
    hook.received.push({
      webhookId: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
      verifiedWith: verify(b.secrets, body, headers),
      type: parsed.type ?? "",
      data: parsed.data,
      answered: step,
      at: Date.now(),
    });
    if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    if (step === "drop") {
      req.socket.destroy();
      return;
    }
    if (step === "hang") {
      hanging.add(res);
      return;
    }
    res.writeHead(step, { "content-type": "text/plain" }).end(b.responseBody ?? (step < 300 ? "ok" : "failed"));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
