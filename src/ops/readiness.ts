import { pingDatabase } from "../db/repositories/health.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Readiness {
  status: "ready" | "not_ready";
  checks: Record<string, CheckResult>;
}

const CHECK_TIMEOUT_MS = 3_000;

async function timed(fn: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: errorMessage(err) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Ready means every dependency a request may need answers now; each check is named in the body. */
export async function checkReadiness(rt: Runtime): Promise<Readiness> {
  const [postgres, cache, queue] = await Promise.all([
    timed(() => pingDatabase(rt.db())),
    timed(() => rt.cache.get("ready:probe")),
    timed(async () => {
      if (typeof rt.env.SUBSCRIBER_QUEUE?.send !== "function") throw new Error("SUBSCRIBER_QUEUE binding missing");
    }),
  ]);
  const checks = { postgres, cache: { ...cache, backend: rt.cache.kind }, queue };
  return { status: Object.values(checks).every((c) => c.ok) ? "ready" : "not_ready", checks };
}
