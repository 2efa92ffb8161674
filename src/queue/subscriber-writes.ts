import { z } from "zod";
import { cached, safePut } from "../cache/read-through.ts";
import { recordOperationOutcomes } from "../db/repositories/operations.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/service.ts";
import { cacheKeys, TTL, toSubscriberView } from "../subscribers/model.ts";
import type { StoreResult } from "../subscribers/writes.ts";
import { storeSubscriberCreates } from "../subscribers/writes.ts";
import { DEAD_LETTER_REASONS, deadLetter } from "./dead-letter.ts";
import { QUEUES } from "./names.ts";
import { mayRetry, retryDelaySeconds } from "./retry.ts";
import { SubscriberCreateMessage } from "./schema.ts";

export interface BatchReport {
  valid: number;
  /** Dead-lettered: not a message we understand, or data the database refused. */
  poison: number;
  inserted: number;
  already_existed: number;
  retried: number;
  /** Dead-lettered after the retry budget ran out (the database stayed unreachable). */
  exhausted: number;
  /** Transactions used; above 1 when a poison message was isolated by bisection. */
  transactions: number;
  /** Time in the check-then-insert transactions (the cache write-through runs after the batch). */
  db_ms: number;
  /** Log-safe description of a transient failure, when the batch had one. */
  db_error?: string;
}

interface Poison {
  msg: Message<unknown>;
  reason: string;
  /** The operation to record as failed, when the message names one. */
  operationId?: string;
}

const OperationIdOnly = z.object({ operation_id: z.uuid() });

/**
 * Consumer of subscriber-writes. Every message ends one of three ways, and is acked only once that
 * is durable: stored (its outcome recorded in the same transaction), dead-lettered with its
 * operation recorded failed (poison), or retried with backoff (the database is unreachable). A
 * poison message never fails its neighbours (see storeSubscriberCreates); a write that outlives the
 * retry budget is dead-lettered as retries_exhausted and replayed once the database is back.
 */
export async function consumeSubscriberWrites(
  batch: MessageBatch<unknown>,
  rt: Runtime,
  /** Runs work after the batch is acked (ctx.waitUntil); awaited inline when absent. */
  defer?: (work: Promise<unknown>) => void,
): Promise<BatchReport> {
  const valid: Array<{ msg: Message<unknown>; body: SubscriberCreateMessage }> = [];
  const poison: Poison[] = [];
  for (const msg of batch.messages) {
    const parsed = SubscriberCreateMessage.safeParse(msg.body);
    if (parsed.success) valid.push({ msg, body: parsed.data });
    else
      poison.push({
        msg,
        // Paths and issue codes only: zod's messages can quote the input.
        reason: `${DEAD_LETTER_REASONS.invalidMessage}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.code}`).join("; ")}`,
        operationId: OperationIdOnly.safeParse(msg.body).data?.operation_id,
      });
  }

  const report: BatchReport = {
    valid: valid.length,
    poison: 0,
    inserted: 0,
    already_existed: 0,
    retried: 0,
    exhausted: 0,
    transactions: 0,
    db_ms: 0,
  };
  const policy = rt.config.queueRetry;
  // A message keeps its own reason (invalid_message) if it has one: only writes the database never
  // answered are `retries_exhausted`, the reason the redrive replays automatically.
  const retryOrExhaust = async (failed: Array<{ msg: Message<unknown>; reason?: string }>, err: unknown) => {
    report.db_error = errorMessage(err);
    const exhausted = failed.filter(({ msg }) => !mayRetry(msg.attempts, policy));
    for (const { msg } of failed) if (mayRetry(msg.attempts, policy)) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, policy) });
    report.retried += failed.length - exhausted.length;
    report.exhausted += await sendToDeadLetters(
      rt,
      exhausted.map(({ msg, reason }) => ({ msg, reason: reason ?? `${DEAD_LETTER_REASONS.retriesExhausted}: ${report.db_error}` })),
    );
  };

  if (poison.length > 0) {
    try {
      await recordOperationOutcomes(
        rt.db(),
        poison.flatMap(({ operationId: id }) =>
          id ? [{ id, kind: "subscriber.create", status: "failed" as const, subscriberId: null, errorCode: "invalid_data" }] : [],
        ),
      );
      report.poison += await sendToDeadLetters(rt, poison);
    } catch (err) {
      await retryOrExhaust(poison, err);
    }
  }

  if (valid.length === 0) return report;
  let result: StoreResult;
  const dbStarted = performance.now();
  try {
    result = await storeSubscriberCreates(
      rt.db(),
      valid.map((v) => v.body),
    );
  } catch (err) {
    await retryOrExhaust(valid, err);
    return report;
  }
  report.db_ms = Math.round(performance.now() - dbStarted);
  report.transactions = result.transactions;
  const rejected = new Map(result.rejected.map((r) => [r.message.operation_id, r.reason]));
  const culprits: Poison[] = [];
  for (const { msg, body } of valid) {
    const reason = rejected.get(body.operation_id);
    if (reason) culprits.push({ msg, reason: `${DEAD_LETTER_REASONS.invalidData}: ${reason}` });
    else msg.ack();
  }
  report.poison += await sendToDeadLetters(rt, culprits);

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
 * Hands messages to the dead-letter queue and acks them once it has them. If the DLQ refuses, they
 * are retried instead (their outcome, if recorded, stays recorded), so nothing is acked unkept.
 */
async function sendToDeadLetters(rt: Runtime, items: Poison[]): Promise<number> {
  if (items.length === 0) return 0;
  try {
    await rt.env.DEAD_LETTER_QUEUE.sendBatch(
      items.map(({ msg, reason }) => ({ body: deadLetter(msg, reason), contentType: "json" as const })),
    );
  } catch (err) {
    rt.log.error("dead_letter_send_failed", { queue: QUEUES.deadLetters, messages: items.length, error: errorMessage(err) });
    for (const { msg } of items) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, rt.config.queueRetry) });
    return 0;
  }
  for (const { msg } of items) msg.ack();
  return items.length;
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
    writes.push(safePut(rt, cacheKeys.byId(row.id), view, TTL.subscriber));
    writes.push(safePut(rt, cacheKeys.byEmail(row.email), view, TTL.subscriber));
  }
  if (result.inserted.length > 0) {
    writes.push(safePut(rt, cacheKeys.listVersion, Date.now().toString(36)));
    writes.push(forgetStats(rt));
  }
  await Promise.all(writes);
}
