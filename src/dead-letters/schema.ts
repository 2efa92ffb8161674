import { z } from "zod";

/** What the main consumer sends to the dead-letter queue; a message the runtime dead-letters by itself arrives as the bare body. */
export const DeadLetterEnvelope = z.object({
  kind: z.literal("dead_letter"),
  reason: z.string(),
  message_id: z.string(),
  attempts: z.number().int(),
  /** The original body as text (JSON, or base64 for bytes); `body` is the older form, a JSON value. */
  body_text: z.string().optional(),
  body_format: z.enum(["json", "base64", "text"]).optional(),
  body: z.unknown().optional(),
});
export type DeadLetterEnvelope = z.infer<typeof DeadLetterEnvelope>;

/** A kept dead letter as operators see it. */
export const DeadLetter = z
  .object({
    id: z.number().int(),
    queue: z.string(),
    message_id: z.string(),
    reason: z.string(),
    attempts: z.number().int(),
    body: z.string().meta({ description: "The raw message: JSON text, or base64 for bytes. Carries personal data, hence admin only." }),
    body_format: z.enum(["json", "base64", "text"]),
    received_at: z.iso.datetime(),
  })
  .meta({ id: "DeadLetter" });
export type DeadLetter = z.infer<typeof DeadLetter>;

export const ReplayResult = z
  .object({
    replayed: z.array(z.number().int()),
    skipped: z.array(z.object({ id: z.number().int(), reason: z.string() })),
  })
  .meta({ id: "DeadLetterReplay" });
export type ReplayResult = z.infer<typeof ReplayResult>;

export const ReplayRequest = z
  .strictObject({
    ids: z.array(z.number().int().positive()).min(1).max(100).optional(),
    limit: z.number().int().min(1).max(100).default(100),
  })
  .meta({ id: "DeadLetterReplayRequest" });
