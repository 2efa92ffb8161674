import { errorMessage, log } from "../lib/log.ts";
import { writeMetric } from "../lib/metrics.ts";
import { createRuntime } from "../runtime.ts";
import type { Runtime } from "../runtime.ts";
import { flattenReport } from "../plans/service.ts";
import { syncPlans } from "../plans/sync.ts";
import { runMaintenance } from "./maintenance.ts";

type CronTask = (rt: Runtime, now: Date) => Promise<Record<string, unknown>>;

/** Keys are the cron expressions in wrangler.toml [triggers]. */
export const CRON_TASKS: Record<string, { name: string; run: CronTask }> = {
  "* * * * *": { name: "plan_sync", run: async (rt) => flattenReport(await syncPlans(rt, "cron")) },
  "17 * * * *": { name: "maintenance", run: runMaintenance },
};

/** One log line per run. A failed run rethrows so Cloudflare records the invocation as failed. */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const started = performance.now();
  const task = CRON_TASKS[controller.cron];
  if (!task) {
    log("error", "cron_run", { cron: controller.cron, outcome: "unknown_schedule" });
    throw new Error(`no task for cron "${controller.cron}"`);
  }
  const rt = createRuntime(env);
  let outcome = "error";
  try {
    const report = await task.run(rt, new Date(controller.scheduledTime));
    outcome = "ok";
    log("info", "cron_run", { cron: controller.cron, task: task.name, outcome: "ok", ms: Math.round(performance.now() - started), ...report });
  } catch (err) {
    log("error", "cron_run", { cron: controller.cron, task: task.name, outcome: "error", error: errorMessage(err), ms: Math.round(performance.now() - started) });
    throw err;
  } finally {
    writeMetric(env, { kind: "cron_run", name: task.name, outcome, ms: performance.now() - started });
    ctx.waitUntil(rt.dispose());
  }
}
