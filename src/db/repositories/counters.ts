import { sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Reader } from "../client.ts";
import type { SUBSCRIBER_STATUSES } from "../schema.ts";
import { planCounts, subscriberCounts } from "../schema.ts";

export interface Counters {
  subscribers: Record<(typeof SUBSCRIBER_STATUSES)[number], number>;
  plans: { total: number; searchable: number };
}

// Sums of bigint are numeric, which the driver hands over as text.
const sum = (column: AnyPgColumn) => sql<number>`coalesce(sum(${column}), 0)::float8`.mapWith(Number);
const planCount = (column: AnyPgColumn) => sql<number>`coalesce((select ${column} from ${planCounts}), 0)::float8`.mapWith(Number);

/**
 * Subscriber counts by status and plan counts, as the triggers of migration 0008 keep them in the
 * same transaction as every write: one query over 33 small rows, whatever the size of the tables.
 */
export async function readCounters(db: Reader): Promise<Counters> {
  const [row] = await db
    .select({
      active: sum(subscriberCounts.active),
      unsubscribed: sum(subscriberCounts.unsubscribed),
      unconfirmed: sum(subscriberCounts.unconfirmed),
      bounced: sum(subscriberCounts.bounced),
      junk: sum(subscriberCounts.junk),
      plansTotal: planCount(planCounts.total),
      plansSearchable: planCount(planCounts.searchable),
    })
    .from(subscriberCounts);
  if (!row) throw new Error("counters: no row from an aggregate");
  const { plansTotal, plansSearchable, ...subscribers } = row;
  return { subscribers, plans: { total: plansTotal, searchable: plansSearchable } };
}
