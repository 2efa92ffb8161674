import { QUEUES } from "../config/queues.ts";
import { consumeDeadLetters } from "../dead-letters/index.ts";
import { errorMessage } from "../lib/log.ts";
import type { Units } from "../lib/meter.ts";
import { newUnits, unitsWithThisLine, withMeter } from "../lib/meter.ts";
import { writeMetric } from "../lib/metrics.ts";
import { createRuntime } from "../runtime.ts";
import { consumeSubscriberWrites } from "../subscribers/index.ts";
import { consumeWebhookDeliveries } from "../webhooks/index.ts";

/** Entry for every queue this Worker consumes; one log line per batch, with every billable unit it spent (src/lib/meter.ts). */
export function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const units = newUnits();
  units.queue_received = batch.messages.length;
  return withMeter(units, () => consume(batch, env, ctx, units));
}

async function consume(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext, units: Units): Promise<void> {
  const started = performance.now();
  const rt = createRuntime(env, { batch_id: crypto.randomUUID(), queue: batch.queue });
  const fields: Record<string, unknown> = { messages: batch.messages.length };
  let outcome = "error";
  /** Work after the acks (cache write-through, webhook relay); the database pool closes after it. */
  const deferred: Promise<unknown>[] = [];
  /** The batch's line, written once the deferred work is done too, so that its units are counted. */
  let logLine = () => {};
  /** Counts that deferred work keeps adding to (webhook rounds send after the handler returns). */
  let late: object | undefined;
  try {
    switch (batch.queue) {
      case QUEUES.subscriberWrites:
        Object.assign(fields, await consumeSubscriberWrites(batch, rt, (work) => deferred.push(work)));
        break;
      case QUEUES.deadLetters:
        Object.assign(fields, await consumeDeadLetters(batch, rt));
        break;
      case QUEUES.webhookDeliveries:
        late = await consumeWebhookDeliveries(batch, rt, (work) => deferred.push(work));
        Object.assign(fields, late);
        break;
      default:
        // A queue bound in wrangler.toml without a consumer here is a deployment mistake: retry so
        // nothing is lost while it gets fixed.
        batch.retryAll({ delaySeconds: 60 });
        throw new Error(`no consumer for queue ${batch.queue}`);
    }
    outcome = "ok";
    const ms = Math.round(performance.now() - started);
    logLine = () => {
      Object.assign(fields, late);
      // A batch that retried, parked or dead-lettered anything is worth seeing at LOG_LEVEL=warn.
      const eventful = ["retried", "exhausted", "poison", "parked", "db_retried"].some((k) => Number(fields[k] ?? 0) > 0);
      rt.log[eventful ? "warn" : "info"]("queue_batch", { ...fields, outcome: "ok", ms, ...unitsWithThisLine(units) });
    };
  } catch (err) {
    const ms = Math.round(performance.now() - started);
    logLine = () => rt.log.error("queue_batch", { ...fields, outcome: "error", error: errorMessage(err), ms, ...unitsWithThisLine(units) });
  } finally {
    writeMetric(env, { kind: "queue_batch", name: batch.queue, outcome, ms: performance.now() - started, items: batch.messages.length });
    ctx.waitUntil(
      Promise.allSettled(deferred).finally(() => {
        logLine();
        return rt.dispose();
      }),
    );
  }
}
