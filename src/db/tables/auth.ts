import { integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./columns.ts";

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    /** First characters of the key, safe to display ("sk_live_AbC1…"). */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the full key, hex. The key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    scopes: text("scopes").array().notNull(),
    rateLimit: integer("rate_limit"),
    ratePeriodSeconds: integer("rate_period_seconds"),
    ...timestamps,
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [uniqueIndex("api_keys_key_hash_uq").on(t.keyHash)],
);
