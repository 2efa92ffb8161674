import type { MeteredKv } from "../cache/meter.ts";
import { retryDelaySeconds } from "../config/retry.ts";
import type { DeadLetterInput } from "../db/repositories/dead-letters.ts";
import { insertDeadLetters } from "../db/repositories/dead-letters.ts";
import { base64Encode } from "../lib/base64.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { DeadLetterEnvelope } from "./schema.ts";

/** Why a message was dead-lettered; the reason text starts with one of these. */
export const DEAD_LETTER_REASONS = {
  /** The database refused the message's data: kept for an operator, replayed only by hand. */
  invalidData: "invalid_data",
  /** Not a message this consumer understands. */
  invalidMessage: "invalid_message",
  /** The retry budget ran out while the database was unreachable: replayed automatically once it is back. */
  retriesExhausted: "retries_exhausted",
} as const;

/** What the DLQ receives: the body already as storable text, so bytes or values JSON cannot carry survive the trip. */
export function deadLetter(message: Message<unknown>, reason: string, original: unknown = message.body): DeadLetterEnvelope {
  const { body, bodyFormat } = serializeBody(original);
  return { kind: "dead_letter", reason, message_id: message.id, attempts: message.attempts, body_text: body, body_format: bodyFormat };
}

/**
 * The body as text, whatever it holds. JSON.stringify escapes NUL and lone surrogates, so the text
 * is always storable; bytes are kept as base64; anything JSON cannot express (a cycle, a BigInt) as
 * its string form rather than not at all.
 */
function serializeBody(body: unknown): { body: string; bodyFormat: "json" | "base64" | "text" } {
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return { body: base64Encode(bytes), bodyFormat: "base64" };
  }
  try {
    return { body: JSON.stringify(body) ?? "null", bodyFormat: "json" };
  } catch {
    return { body: JSON.stringify(String(body)), bodyFormat: "text" };
  }
}

/** Text Postgres can always store (no NUL), bounded: an envelope's own fields come from a message too. */
const storable = (text: string, max = 2_000) => text.replaceAll("\u0000", "\\u0000").slice(0, max);

export function toDeadLetterRow(queue: string, message: Message<unknown>): DeadLetterInput {
  const env = DeadLetterEnvelope.safeParse(message.body);
  if (env.success) {
    return {
      queue,
      messageId: storable(env.data.message_id, 200),
      ...(env.data.body_text !== undefined
        ? { body: storable(env.data.body_text, Number.POSITIVE_INFINITY), bodyFormat: env.data.body_format ?? "json" }
        : serializeBody(env.data.body)),
      reason: storable(env.data.reason),
      attempts: env.data.attempts,
    };
  }
  return {
    queue,
    messageId: message.id,
    ...serializeBody(message.body),
    reason: DEAD_LETTER_REASONS.retriesExhausted,
    attempts: message.attempts,
  };
}

/**
 * Dead letters wait here, in KV, while Postgres cannot take them: KV needs nothing from Postgres and
 * keeps a value until it is deleted. The every-minute cron moves them into Postgres (src/dead-letters/redrive.ts).
 */
export const PARKED_PREFIX = "deadletter:v1:";

async function park(kv: MeteredKv, rows: DeadLetterInput[]): Promise<void> {
  await Promise.all(rows.map((row) => kv.put(`${PARKED_PREFIX}${row.messageId}`, JSON.stringify(row))));
}

/**
 * The DLQ consumer. Every dead letter is kept: in Postgres (table dead_letters) when it answers,
 * otherwise parked in KV; a batch is acked only once one of the two has it. Only if both fail is it
 * retried, with the subscriber queue's backoff.
 */
export async function consumeDeadLetters(
  batch: MessageBatch<unknown>,
  rt: Runtime,
): Promise<{ stored: number; parked: number; db_error?: string }> {
  const rows = batch.messages.map((m) => toDeadLetterRow(batch.queue, m));
  try {
    const stored = await insertDeadLetters(rt.db(), rows);
    batch.ackAll();
    return { stored, parked: 0 };
  } catch (dbErr) {
    try {
      await park(rt.kv, rows);
    } catch (kvErr) {
      const attempts = Math.max(...batch.messages.map((m) => m.attempts));
      batch.retryAll({ delaySeconds: retryDelaySeconds(attempts, rt.config.queueRetry) });
      throw new Error(`dead letters neither stored nor parked: ${errorMessage(dbErr)}; ${errorMessage(kvErr)}`);
    }
    batch.ackAll();
    return { stored: 0, parked: rows.length, db_error: errorMessage(dbErr) };
  }
}

/**
 * Erasure reaches parked dead letters too: a parked entry whose text mentions any of `needles` (ids,
 * addresses; compared case-blind) is deleted. A failure throws, so the erasure's batch is retried.
 */
export async function purgeParkedMentioning(rt: Runtime, needles: string[]): Promise<void> {
  const parked = await rt.kv.list({ prefix: PARKED_PREFIX });
  for (const k of parked.keys) {
    const text = (await rt.kv.getText(k.name))?.toLowerCase();
    if (text && needles.some((n) => text.includes(n.toLowerCase()))) await rt.kv.delete(k.name);
  }
}
