import { timestamp } from "drizzle-orm/pg-core";

/** Every table with a creation time names it created_at, set by Postgres. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};
