import { sql } from "drizzle-orm";
import { bigserial, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    /**
     * The message body exactly as it arrived, as text: JSON for JSON bodies (JSON.stringify escapes
     * NUL and lone surrogates, which jsonb and text would refuse raw), base64 for bytes. Never jsonb,
     * so no body can make its own dead letter unstorable.
     */
    body: text("body").notNull(),
    bodyFormat: text("body_format", { enum: ["json", "base64", "text"] })
      .notNull()
      .default("json"),
    reason: text("reason").notNull(),
    attempts: integer("attempts").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    replayedAt: timestamp("replayed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("dead_letters_message_id_uq").on(t.messageId),
    index("dead_letters_pending_idx").on(t.receivedAt).where(sql`${t.replayedAt} is null`),
  ],
);
