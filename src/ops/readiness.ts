import { pingDatabase } from "../db/repositories/health.ts";
import { lastAppliedSyncRun } from "../db/repositories/sync-runs.ts";
import { errorMessage } from "../lib/log.ts";
import { readBreakerState } from "../providers/client.ts";
import type { Runtime } from "../runtime.ts";

interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
  [detail: string]: unknown;
}

export interface Readiness {
  status: "ready" | "not_ready";
  checks: Record<string, CheckResult>;
}

const CHECK_TIMEOUT_MS = 3_000;

/**
 * One named dependency check. It throws when the dependency is not usable and may return details
 * for the body (e.g. `{ backend: "kv" }`, `{ age_seconds: 42 }`, `{ state: "open" }`).
 */
export type ReadinessProbe = (rt: Runtime) => Promise<Record<string, unknown> | undefined>;

async function timed(rt: Runtime, probe: ReadinessProbe): Promise<CheckResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const details = await Promise.race([
      probe(rt),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ...details, ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: errorMessage(err) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The cron syncs every minute; this long without a successful sync is reported as stale. */
const PLAN_SYNC_STALE_SECONDS = 15 * 60;

/**
 * The checks /ready runs, by the name they have in the body. Capabilities add theirs here (the plan
 * sync's last success age, the provider breaker's state) rather than editing checkReadiness.
 */
export const readinessProbes: Record<string, ReadinessProbe> = {
  // Both ways in: requests read over HTTP, while transactions (queue consumers, admin writes) need
  // the WebSocket pool.
  postgres: async (rt) => {
    await Promise.all([pingDatabase(rt.reader()), pingDatabase(rt.db())]);
    return undefined;
  },
  cache: async (rt) => {
    await rt.cache.get("ready:probe");
    return { backend: rt.cache.kind };
  },
  queue: async (rt) => {
    if (typeof rt.queues.subscriberWrites?.send !== "function") throw new Error("SUBSCRIBER_QUEUE binding missing");
    return undefined;
  },
  // Informational: /search answers from the stored index whatever the provider does, so a stale
  // sync or an open breaker is reported (`stale`, `state`) without taking the Worker out of service.
  plan_sync: async (rt) => {
    const run = await lastAppliedSyncRun(rt.reader());
    if (!run) return { last_success_at: null, age_seconds: null, stale: true };
    const age = Math.max(0, Math.round((Date.now() - run.finishedAt.getTime()) / 1000));
    return { last_success_at: run.finishedAt.toISOString(), age_seconds: age, stale: age > PLAN_SYNC_STALE_SECONDS };
  },
  provider_breaker: async (rt) => ({ state: await readBreakerState(rt, rt.config.provider) }),
};

/** Ready means every dependency a request may need answers now; each check is named in the body. */
export async function checkReadiness(rt: Runtime, probes: Record<string, ReadinessProbe> = readinessProbes): Promise<Readiness> {
  const names = Object.keys(probes);
  const results = await Promise.all(names.map((name) => timed(rt, probes[name]!)));
  const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
  return { status: results.every((c) => c.ok) ? "ready" : "not_ready", checks };
}
