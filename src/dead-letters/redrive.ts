import type { DeadLetterInput, DeadLetterRow } from "../db/repositories/dead-letters.ts";
import {
  insertDeadLetters,
  listDeadLetters,
  markDeadLettersNotReplayable,
  markDeadLettersReplayed,
} from "../db/repositories/dead-letters.ts";
import type { Runtime } from "../runtime.ts";
import { DEAD_LETTER_REASONS, PARKED_PREFIX } from "./dead-letter.ts";
import type { DeadLetter, ReplayResult } from "./schema.ts";

/**
 * The message to send back to the subscriber queue for a kept body, or undefined when it is not one
 * the queue's owner understands: the subscribers capability decides (src/subscribers/messages.ts).
 */
export type ReplayableWrite = (body: unknown) => object | undefined;

/**
 * Bounds one cron run's work; what is left waits for the next minute. A run makes at most one KV
 * list, MAX_PER_RUN gets and MAX_PER_RUN deletes, under Workers' 1,000 KV operations per invocation.
 */
const MAX_PER_RUN = 400;
const SEND_BATCH = 100;

/**
 * Sends dead letters back to the subscriber queue, unchanged, and marks them replayed. Only
 * subscriber writes can be replayed; anything else is reported and left for an operator. A replay
 * that is sent but not marked (the database fails in between) is sent again later, which the
 * consumer absorbs: an operation with an outcome is not applied twice.
 */
async function replayDeadLetters(rt: Runtime, rows: DeadLetterRow[], replayable: ReplayableWrite, now = new Date()): Promise<ReplayResult> {
  const sendable: Array<{ id: number; body: object }> = [];
  const skipped: ReplayResult["skipped"] = [];
  for (const row of rows) {
    const body = row.bodyFormat === "json" ? parseJson(row.body) : undefined;
    const message = replayable(body);
    if (message) sendable.push({ id: row.id, body: message });
    else skipped.push({ id: row.id, reason: "not a subscriber write this version understands" });
  }
  for (let i = 0; i < sendable.length; i += SEND_BATCH) {
    const chunk = sendable.slice(i, i + SEND_BATCH);
    await rt.queues.subscriberWrites.sendBatch(chunk.map((m) => ({ body: m.body, contentType: "json" as const })));
    await markDeadLettersReplayed(
      rt.db(),
      chunk.map((m) => m.id),
      now,
    );
  }
  return { replayed: sendable.map((m) => m.id), skipped };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The every-minute recovery after a database outage: dead letters parked in KV move into Postgres,
 * then writes that were dead-lettered only because Postgres was unreachable go back to the queue.
 * Dead letters whose data Postgres refused stay for an operator (POST /v1/admin/dead-letters/replay).
 * Throws while Postgres is still down; the next run tries again and nothing is lost meanwhile.
 */
export async function redriveDeadLetters(rt: Runtime, replayable: ReplayableWrite): Promise<Record<string, number>> {
  const kv = rt.kv;
  const { keys } = await kv.list({ prefix: PARKED_PREFIX, limit: MAX_PER_RUN });
  // KV's list and get are eventually consistent: a key listed but not yet readable stays for the next run.
  const read = await Promise.all(keys.map(async (k) => ({ key: k.name, row: await kv.get<DeadLetterInput>(k.name, "json") })));
  const parked = read.filter((r): r is { key: string; row: DeadLetterInput } => r.row !== null);
  let unparked = 0;
  for (let i = 0; i < parked.length; i += SEND_BATCH) {
    unparked += await insertDeadLetters(
      rt.db(),
      parked.slice(i, i + SEND_BATCH).map((p) => p.row),
    );
  }
  // Deleted only once Postgres has them (or had them already: insertDeadLetters skips known ids).
  await Promise.all(parked.map((p) => kv.delete(p.key)));

  const due = await listDeadLetters(rt.db(), { limit: MAX_PER_RUN, reasonPrefix: DEAD_LETTER_REASONS.retriesExhausted });
  const { replayed, skipped } = await replayDeadLetters(rt, due, replayable);
  // What cannot be replayed stops being due, so it never crowds the replayable out of the page above.
  await markDeadLettersNotReplayable(
    rt.db(),
    skipped.map((s) => s.id),
  );
  return { parked_moved: parked.length, parked_new_rows: unparked, replayed: replayed.length, not_replayable: skipped.length };
}

function toDeadLetterView(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    queue: r.queue,
    message_id: r.messageId,
    reason: r.reason,
    attempts: r.attempts,
    body: r.body,
    body_format: r.bodyFormat,
    received_at: r.receivedAt.toISOString(),
  };
}

/** Admin: dead letters not yet replayed, oldest first. */
export async function pendingDeadLetters(rt: Runtime, limit: number): Promise<DeadLetter[]> {
  return (await listDeadLetters(rt.db(), { limit })).map(toDeadLetterView);
}

/** Admin: replay the given dead letters (or the oldest `limit` not yet replayed). */
export async function replayPending(
  rt: Runtime,
  q: { ids?: number[] | undefined; limit: number },
  replayable: ReplayableWrite,
): Promise<ReplayResult> {
  return replayDeadLetters(rt, await listDeadLetters(rt.db(), { limit: q.limit, ids: q.ids }), replayable);
}
