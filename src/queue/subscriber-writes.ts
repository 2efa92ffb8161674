import { cached, safeDelete, safePut } from "../cache/read-through.ts";
import { errorMessage, log } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { TTL, cacheKeys, toSubscriberView } from "../subscribers/model.ts";
import { storeSubscriberCreates } from "../subscribers/writes.ts";
import type { StoreResult } from "../subscribers/writes.ts";
import { deadLetter } from "./dead-letter.ts";
import { SubscriberCreateMessage } from "./messages.ts";

export interface BatchReport {
  valid: number;
  poison: number;
  inserted: number;
  already_existed: number;
  retried: number;
  /** Time in the check-then-insert transaction (the cache write-through runs after the batch). */
  db_ms: number;
}

/** Exponential backoff for transient failures, from the message's delivery count. */
export function retryDelaySeconds(attempts: number, baseSeconds: number): number {
  return Math.min(300, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

/**
 * Consumer of subscriber-writes. Poison messages go to the DLQ at once (acked only once the DLQ has
 * them); the rest are stored as one set. A message is acked only after its transaction committed;
 * any failure before that retries it with backoff, and after max_retries the queue dead-letters it.
 */
export async function consumeSubscriberWrites(
  batch: MessageBatch<unknown>,
  rt: Runtime,
  /** Runs work after the batch is acked (ctx.waitUntil); awaited inline when absent. */
  defer?: (work: Promise<unknown>) => void,
): Promise<BatchReport> {
  const valid: Array<{ msg: Message<unknown>; body: SubscriberCreateMessage }> = [];
  const poison: Array<{ msg: Message<unknown>; reason: string }> = [];
  for (const msg of batch.messages) {
    const parsed = SubscriberCreateMessage.safeParse(msg.body);
    if (parsed.success) valid.push({ msg, body: parsed.data });
    else poison.push({ msg, reason: `invalid message: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}` });
  }

  const report: BatchReport = { valid: valid.length, poison: poison.length, inserted: 0, already_existed: 0, retried: 0, db_ms: 0 };

  if (poison.length > 0) {
    try {
      await rt.env.DEAD_LETTER_QUEUE.sendBatch(poison.map(({ msg, reason }) => ({ body: deadLetter(msg, reason), contentType: "json" as const })));
      for (const { msg, reason } of poison) {
        log("warn", "queue_poison_message", { queue: batch.queue, message_id: msg.id, attempts: msg.attempts, reason });
        msg.ack();
      }
    } catch (err) {
      log("error", "dead_letter_send_failed", { queue: batch.queue, error: errorMessage(err) });
      for (const { msg } of poison) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, rt.config.queueRetryBaseSeconds) });
      report.retried += poison.length;
    }
  }

  if (valid.length === 0) return report;
  let result: StoreResult;
  const dbStarted = performance.now();
  try {
    result = await storeSubscriberCreates(rt.db(), valid.map((v) => v.body));
  } catch (err) {
    log("error", "subscriber_batch_failed", { queue: batch.queue, messages: valid.length, error: errorMessage(err) });
    for (const { msg } of valid) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, rt.config.queueRetryBaseSeconds) });
    report.retried += valid.length;
    return report;
  }
  for (const { msg } of valid) msg.ack();
  report.db_ms = Math.round(performance.now() - dbStarted);

  report.inserted = result.inserted.length;
  report.already_existed = result.outcomes.filter((o) => o.status === "failed").length;
  // The rows are durable and acked: filling the cache need not hold the batch open. Every write here
  // is best effort anyway (a miss reads Postgres; a pending operation is re-checked there).
  const filled = writeThrough(rt, result);
  if (defer) defer(filled);
  else await filled;
  return report;
}

/**
 * After commit: the cache learns the new subscribers (replacing any cached absence, and arming the
 * edge's 409 for a known address); failures here only log. Outcomes of operations are not written:
 * they are in Postgres, and the first read of a finished operation caches it (src/subscribers/service.ts),
 * which saves a KV write for every message nobody polls.
 */
async function writeThrough(rt: Runtime, result: StoreResult): Promise<void> {
  const writes: Promise<unknown>[] = [];
  for (const row of result.inserted) {
    const view = cached(toSubscriberView(row));
    writes.push(safePut(rt.cache, cacheKeys.byId(row.id), view, TTL.subscriber));
    writes.push(safePut(rt.cache, cacheKeys.byEmail(row.email), view, TTL.subscriber));
  }
  if (result.inserted.length > 0) {
    writes.push(safePut(rt.cache, cacheKeys.listVersion, Date.now().toString(36)));
    writes.push(safeDelete(rt.cache, cacheKeys.stats));
  }
  await Promise.all(writes);
}
