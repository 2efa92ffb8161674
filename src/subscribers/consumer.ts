import { z } from "zod";
import { QUEUES } from "../config/queues.ts";
import { mayRetry, retryDelaySeconds } from "../config/retry.ts";
import { recordOperationOutcomes } from "../db/repositories/operations.ts";
import { DEAD_LETTER_REASONS, deadLetter } from "../dead-letters/index.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { relayWebhookEvents } from "../webhooks/index.ts";
import { checkAfterCommit, settle } from "./cache-settle.ts";
import { purgeErasedWithRetries, withoutAddress } from "./erasure-purge.ts";
import type { SubscriberSettleMessage, SubscriberWriteMessage } from "./messages.ts";
import { parseSubscriberQueueMessage } from "./messages.ts";
import type { StoreResult } from "./writes.ts";
import { storeSubscriberWrites } from "./writes.ts";

export interface BatchReport {
  valid: number;
  /** Dead-lettered: not a message we understand, or data the database refused. */
  poison: number;
  inserted: number;
  already_existed: number;
  changed: number;
  removed: number;
  superseded: number;
  /** Redeliveries of operations that already had an outcome: acked, nothing written. */
  already_decided: number;
  /**
   * Messages not applied because their Idempotency-Key had already made an operation for another
   * request (docs/api.md "Idempotency"): acked, and the operation keeps the first request's outcome.
   */
  idempotency_conflicts: number;
  /** Cache keys the settle pass found wrong and wrote or deleted. */
  settled: number;
  retried: number;
  /** Dead-lettered after the retry budget ran out (the database stayed unreachable). */
  exhausted: number;
  /** Transactions used; above 1 when a poison message was isolated by bisection. */
  transactions: number;
  /** Time in the write transactions (the cache check runs after the batch). */
  db_ms: number;
  /** Log-safe description of a transient failure, when the batch had one. */
  db_error?: string;
}

interface Poison {
  msg: Message<unknown>;
  reason: string;
  /** The operation to record as failed, when the message names one. */
  operationId?: string;
  kind?: string;
}

const Named = z.object({ operation_id: z.uuid(), type: z.string().max(40).optional() });

/**
 * Consumer of subscriber-writes. Every message ends one of three ways, and is acked only once that
 * is durable: applied (its outcome recorded in the same transaction), dead-lettered with its
 * operation recorded failed (poison), or retried with backoff (the database is unreachable). A
 * poison message never fails its neighbours (see storeSubscriberWrites); a write that outlives the
 * retry budget is dead-lettered as retries_exhausted and replayed once the database is back.
 */
export async function consumeSubscriberWrites(
  batch: MessageBatch<unknown>,
  rt: Runtime,
  /** Runs work after the batch is acked (ctx.waitUntil); awaited inline when absent. */
  defer?: (work: Promise<unknown>) => void,
): Promise<BatchReport> {
  const valid: Array<{ msg: Message<unknown>; body: SubscriberWriteMessage }> = [];
  const settles: Array<{ msg: Message<unknown>; body: SubscriberSettleMessage }> = [];
  const poison: Poison[] = [];
  for (const msg of batch.messages) {
    const parsed = parseSubscriberQueueMessage(msg.body);
    if (parsed.ok) {
      if (parsed.message.type === "subscriber.settle") settles.push({ msg, body: parsed.message });
      else valid.push({ msg, body: parsed.message });
    } else {
      const named = Named.safeParse(msg.body).data;
      poison.push({
        msg,
        reason: `${DEAD_LETTER_REASONS.invalidMessage}: ${parsed.problems}`,
        operationId: named?.operation_id,
        kind: named?.type,
      });
    }
  }

  const report: BatchReport = {
    valid: valid.length,
    poison: 0,
    inserted: 0,
    already_existed: 0,
    changed: 0,
    removed: 0,
    superseded: 0,
    already_decided: 0,
    idempotency_conflicts: 0,
    settled: 0,
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
        poison.flatMap(({ operationId: id, kind }) =>
          id ? [{ id, kind: kind ?? "subscriber.create", status: "failed" as const, subscriberId: null, errorCode: "invalid_data" }] : [],
        ),
      );
      report.poison += await sendToDeadLetters(rt, poison);
    } catch (err) {
      await retryOrExhaust(poison, err);
    }
  }

  if (settles.length > 0) {
    try {
      report.settled = await settle(
        rt,
        settles.flatMap((s) => s.body.subscribers),
      );
      for (const { msg } of settles) msg.ack();
    } catch (err) {
      // Only a cache pass: retried while it may be, then given up (the entries' TTL bounds the rest).
      for (const { msg } of settles)
        if (mayRetry(msg.attempts, policy)) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, policy) });
      report.db_error = errorMessage(err);
    }
  }

  if (valid.length === 0) return report;
  let result: StoreResult;
  const dbStarted = performance.now();
  try {
    result = await storeSubscriberWrites(
      rt.db(),
      rt.config.erasureHashKey,
      valid.map((v) => v.body),
    );
  } catch (err) {
    await retryOrExhaust(valid, err);
    return report;
  }
  report.db_ms = Math.round(performance.now() - dbStarted);
  report.transactions = result.transactions;

  // Before the acks, and never throwing: a failure here must not keep the batch's dead letters from
  // being sent (its database part is committed, and a redelivered erasure is already decided).
  await purgeErasedWithRetries(rt, result);

  const rejected = new Map(result.rejected.map((r) => [r.message.operation_id, r.reason]));
  const culprits: Poison[] = [];
  for (const { msg, body } of valid) {
    const reason = rejected.get(body.operation_id);
    if (reason) culprits.push({ msg, reason: `${DEAD_LETTER_REASONS.invalidData}: ${reason}` });
    else msg.ack();
  }
  report.poison += await sendToDeadLetters(rt, culprits);

  report.inserted = result.outcomes.filter((o) => o.kind === "subscriber.create" && o.status === "succeeded").length;
  report.already_existed = result.outcomes.filter((o) => o.errorCode === "already_exists").length;
  report.changed = result.outcomes.filter((o) => o.kind === "subscriber.update" && o.status === "succeeded").length;
  report.removed = result.removed.length;
  report.superseded = result.outcomes.filter((o) => o.status === "superseded").length;
  report.already_decided = result.alreadyDecided;
  report.idempotency_conflicts = result.conflicts.length;
  for (const id of result.conflicts) rt.log.warn("idempotency_conflict", { operation_id: id, outcome: "not_applied" });
  // The rows are durable and acked: checking the cache need not hold the batch open. Every write here
  // is best effort anyway (a miss reads Postgres; a pending operation is re-checked there), and the
  // delayed settle message checks it again.
  const checked = checkAfterCommit(rt, result);
  // Applied changes wrote events: the relay turns them into webhook deliveries now rather than at
  // the next cron minute (which still catches them if this invocation dies first).
  const relayed =
    result.saved.length + result.removed.length > 0 || result.erasures.length > 0
      ? relayWebhookEvents(rt).catch((err) => rt.log.warn("webhook_relay_failed", { error: errorMessage(err) }))
      : undefined;
  if (defer) {
    defer(checked);
    if (relayed) defer(relayed);
  } else await Promise.all([checked, relayed]);
  return report;
}

/**
 * Hands messages to the dead-letter queue and acks them once it has them. If the DLQ refuses, they
 * are retried instead (their outcome, if recorded, stays recorded), so nothing is acked unkept.
 */
async function sendToDeadLetters(rt: Runtime, items: Poison[]): Promise<number> {
  if (items.length === 0) return 0;
  try {
    const kept = async ({ msg, reason }: Poison) =>
      deadLetter(msg, reason, reason.startsWith(DEAD_LETTER_REASONS.retriesExhausted) ? msg.body : await withoutAddress(rt, msg.body));
    await rt.queues.deadLetters.sendBatch(
      await Promise.all(items.map(async (p) => ({ body: await kept(p), contentType: "json" as const }))),
    );
  } catch (err) {
    rt.log.error("dead_letter_send_failed", { queue: QUEUES.deadLetters, messages: items.length, error: errorMessage(err) });
    for (const { msg } of items) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts, rt.config.queueRetry) });
    return 0;
  }
  for (const { msg } of items) msg.ack();
  return items.length;
}
