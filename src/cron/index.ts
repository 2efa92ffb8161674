import { settleRevocations } from "../auth/index.ts";
import { redriveDeadLetters } from "../dead-letters/index.ts";
import { createLogger, errorMessage } from "../lib/log.ts";
import { newUnits, unitsWithThisLine, withMeter } from "../lib/meter.ts";
import { writeMetric } from "../lib/metrics.ts";
import { runMaintenance } from "../ops/index.ts";
import { flattenReport, syncPlans } from "../plans/index.ts";
import type { Runtime } from "../runtime.ts";
import { createRuntime } from "../runtime.ts";
import { reconcileWriteJournal, replayableWrite } from "../subscribers/index.ts";
import { relayWebhookEvents, sweepDeliveries } from "../webhooks/index.ts";

type CronTask = (rt: Runtime, now: Date) => Promise<Record<string, unknown>>;

/**
 * Keys are the cron expressions in wrangler.toml [triggers]; each runs its tasks in order, and one
 * task failing does not keep the next from running.
 */
export const CRON_TASKS: Record<string, Array<{ name: string; run: CronTask }>> = {
  "* * * * *": [
    // First: after a restart of the local stack, the writes its lost queue held go out again at once.
    { name: "write_journal", run: (rt) => reconcileWriteJournal(rt) },
    { name: "plan_sync", run: async (rt) => flattenReport(await syncPlans(rt, "cron")) },
    { name: "dead_letter_redrive", run: (rt) => redriveDeadLetters(rt, replayableWrite) },
    { name: "webhook_relay", run: (rt) => relayWebhookEvents(rt) },
    { name: "webhook_sweep", run: sweepDeliveries },
    // Repairs the KV revocation list a lost or raced write left behind (src/auth/revocations.ts).
    { name: "api_key_revocations", run: settleRevocations },
  ],
  "17 * * * *": [{ name: "maintenance", run: runMaintenance }],
};

/** One log line per task run (with every billable unit it spent). A failed task rethrows (after the others ran) so Cloudflare records the invocation as failed. */
export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const tasks = CRON_TASKS[controller.cron];
  if (!tasks) {
    createLogger("info").error("cron_run", { cron: controller.cron, outcome: "unknown_schedule" });
    throw new Error(`no task for cron "${controller.cron}"`);
  }
  const rt = createRuntime(env, { run_id: crypto.randomUUID(), cron: controller.cron });
  const failures: unknown[] = [];
  try {
    for (const task of tasks) {
      const started = performance.now();
      const units = newUnits();
      // The task's data point first, so that its line counts it too.
      const point = (outcome: string) =>
        withMeter(units, () => writeMetric(env, { kind: "cron_run", name: task.name, outcome, ms: performance.now() - started }));
      try {
        const report = await withMeter(units, () => task.run(rt, new Date(controller.scheduledTime)));
        point("ok");
        rt.log.info("cron_run", {
          task: task.name,
          outcome: "ok",
          ms: Math.round(performance.now() - started),
          ...report,
          ...unitsWithThisLine(units),
        });
      } catch (err) {
        failures.push(err);
        point("error");
        rt.log.error("cron_run", {
          task: task.name,
          outcome: "error",
          error: errorMessage(err),
          ms: Math.round(performance.now() - started),
          ...unitsWithThisLine(units),
        });
      }
    }
  } finally {
    ctx.waitUntil(rt.dispose());
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} cron tasks failed`);
}
