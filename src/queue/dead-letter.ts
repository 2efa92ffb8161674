import { z } from "zod";
import { insertDeadLetters } from "../db/repositories/dead-letters.ts";
import type { DeadLetterInput } from "../db/repositories/dead-letters.ts";
import type { Runtime } from "../runtime.ts";

/** What the main consumer sends for a poison message; exhausted retries arrive as the bare body. */
export const DeadLetterEnvelope = z.object({
  kind: z.literal("dead_letter"),
  reason: z.string(),
  message_id: z.string(),
  attempts: z.number().int(),
  body: z.unknown(),
});
export type DeadLetterEnvelope = z.infer<typeof DeadLetterEnvelope>;

export function deadLetter(message: Message<unknown>, reason: string): DeadLetterEnvelope {
  return { kind: "dead_letter", reason, message_id: message.id, attempts: message.attempts, body: message.body };
}

function toRow(queue: string, message: Message<unknown>): DeadLetterInput {
  const env = DeadLetterEnvelope.safeParse(message.body);
  if (env.success) {
    return { queue, messageId: env.data.message_id, body: env.data.body ?? null, reason: env.data.reason, attempts: env.data.attempts };
  }
  return { queue, messageId: message.id, body: message.body ?? null, reason: "retries_exhausted", attempts: message.attempts };
}

/**
 * The DLQ consumer: keeps every dead letter in Postgres, where `npm run dlq` lists and replays them.
 * If Postgres is down the whole batch is retried; nothing is acked before it is stored.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, rt: Runtime): Promise<{ stored: number }> {
  const rows = batch.messages.map((m) => toRow(batch.queue, m));
  try {
    const stored = await insertDeadLetters(rt.db(), rows);
    batch.ackAll();
    return { stored };
  } catch (err) {
    batch.retryAll({ delaySeconds: 30 });
    throw err;
  }
}
