import { spawn } from "node:child_process";

export interface WranglerDev {
  url: string;
  /** The last lines wrangler printed: shown when the Worker fails to come up. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs the Worker under `wrangler dev` (workerd + miniflare's local KV/Queues) on the given port and
 * resolves once GET /ready is 200. Output is kept in memory, not printed, so test runs stay quiet.
 */
export async function startWranglerDev(opts: {
  port: number;
  inspectorPort: number;
  persistTo: string;
  vars: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<WranglerDev> {
  const args = [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(opts.port),
    // The default inspector port (9229) would collide with a running `npm run dev`.
    "--inspector-port", String(opts.inspectorPort),
    "--persist-to", opts.persistTo,
    "--show-interactive-dev-session=false",
    ...Object.entries(opts.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group, so stopping it also stops workerd.
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", FORCE_COLOR: "0" },
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);

  const stop = () =>
    new Promise<void>((ok) => {
      if (child.exitCode !== null || child.signalCode !== null) return ok();
      child.once("exit", () => ok());
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        ok();
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }, 5_000).unref();
    });

  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${lines.join("\n")}`);
    const ok = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Worker was not ready within ${(opts.readyTimeoutMs ?? 90_000) / 1000} s:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, output: () => lines.join("\n"), stop };
}
