// A local stand-in for Upstash's REST API in front of a real redis-server, for tests only:
// POST / with a JSON command array, POST /pipeline with an array of them, Bearer token auth, and
// base64 results when the client asks for them (Upstash-Encoding: base64), as @upstash/redis does.

import type { ChildProcess } from "node:child_process";
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createClient } from "redis";

export interface UpstashBridge {
  url: string;
  token: string;
  close(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

type Reply = string | number | null | Reply[] | Buffer;

function encode(value: Reply, base64: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (Buffer.isBuffer(value)) return base64 ? value.toString("base64") : value.toString("utf8");
  if (typeof value === "string") return base64 ? Buffer.from(value).toString("base64") : value;
  return value;
}

/**
 * @upstash/ratelimit's Lua scripts declare `#!lua flags=allow-key-locking`, a flag Upstash accepts
 * and Redis 7.0 does not know; it changes nothing about what the script computes, so it is dropped.
 */
const localScript = (arg: string) => arg.replace(/^#!lua flags=allow-key-locking\b/, "#!lua");

export async function startUpstashBridge(redisPort: number): Promise<UpstashBridge & { redis: ChildProcess }> {
  const redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  // Connect once the server listens: a client started earlier keeps reconnecting on its own, and on
  // a loaded machine that outlasted any fixed number of retries (seen in CI as "redis not ready yet").
  try {
    await listening(redisPort, 30_000);
  } catch (err) {
    redis.kill("SIGTERM");
    throw err;
  }
  const client = createClient({ socket: { host: "127.0.0.1", port: redisPort, reconnectStrategy: (n) => (n > 50 ? false : 100) } });
  await client.connect();
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const run = async (cmd: unknown[]) => {
    try {
      return { result: (await client.sendCommand(cmd.map(String).map(localScript))) as Reply };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };
  const server = createServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "Unauthorized" }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown[];
    const base64 = req.headers["upstash-encoding"] === "base64";
    const shape = (r: { result?: Reply; error?: string }) => (r.error ? { error: r.error } : { result: encode(r.result ?? null, base64) });
    const path = (req.url ?? "/").split("?")[0];
    const out =
      path === "/pipeline" || path === "/multi-exec"
        ? await Promise.all((body as unknown[][]).map(async (cmd) => shape(await run(cmd))))
        : shape(await run(body));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    redis,
    close: async () => {
      server.close();
      await client.quit().catch(() => {});
      redis.kill("SIGTERM");
    },
  };
}

/** Resolves once something accepts TCP connections on the loopback port, or rejects after `ms`. */
async function listening(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
