import { sql } from "drizzle-orm";
import { bigint, check, pgTable, smallint } from "drizzle-orm/pg-core";

/**
 * Subscriber counts by status, kept exact by statement-level triggers on subscribers (migration
 * 0008), in the same transaction as every insert, update, delete and truncate, whoever runs them.
 * Split over SUBSCRIBER_COUNT_SHARDS rows, one chosen per transaction (its txid): concurrent
 * consumer batches then update different rows instead of queueing on one, and a transaction only
 * ever locks one row here, so this table can never deadlock with itself. Read as the sum over the
 * rows: O(shards), whatever the number of subscribers. One column per status (not a row per
 * status) for that single-row lock; a new status needs a migration of the enum anyway.
 */
export const subscriberCounts = pgTable(
  "subscriber_counts",
  {
    shard: smallint("shard").primaryKey(),
    active: bigint("active", { mode: "number" }).notNull().default(0),
    unsubscribed: bigint("unsubscribed", { mode: "number" }).notNull().default(0),
    unconfirmed: bigint("unconfirmed", { mode: "number" }).notNull().default(0),
    bounced: bigint("bounced", { mode: "number" }).notNull().default(0),
    junk: bigint("junk", { mode: "number" }).notNull().default(0),
  },
  (t) => [check("subscriber_counts_shard", sql`${t.shard} between 0 and 31`)],
);

/**
 * Plan counts, kept exact by triggers on plans (migration 0008). One row: every plan sync already
 * holds an advisory lock for its whole transaction, so there is no concurrency to spread.
 */
export const planCounts = pgTable(
  "plan_counts",
  {
    id: smallint("id").primaryKey(),
    total: bigint("total", { mode: "number" }).notNull().default(0),
    /** Ever sold online, so returned by /search. */
    searchable: bigint("searchable", { mode: "number" }).notNull().default(0),
  },
  (t) => [check("plan_counts_one_row", sql`${t.id} = 1`)],
);
