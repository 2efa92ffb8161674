import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, numeric, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/** Provider times carry no zone; stored as timestamp without time zone and compared as UTC. */
const providerTime = (name: string) => timestamp(name, { mode: "string", withTimezone: false });
const seen = {
  firstSeenAt: timestamp("first_seen_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

export const basePlans = pgTable("base_plans", {
  basePlanId: text("base_plan_id").primaryKey(),
  title: text("title").notNull(),
  sellMode: text("sell_mode").notNull(),
  organizerCompanyId: text("organizer_company_id"),
  /** Once online, always returned by /search, even if the provider later says offline. */
  everOnline: boolean("ever_online").notNull(),
  ...seen,
});

export const plans = pgTable(
  "plans",
  {
    /** UUIDv5 of "base_plan_id:plan_id": stable across syncs, re-ingests and environments. */
    id: uuid("id").primaryKey(),
    basePlanId: text("base_plan_id")
      .notNull()
      .references(() => basePlans.basePlanId),
    planId: text("plan_id").notNull(),
    startsAt: providerTime("starts_at").notNull(),
    endsAt: providerTime("ends_at").notNull(),
    sellFrom: providerTime("sell_from"),
    sellTo: providerTime("sell_to"),
    soldOut: boolean("sold_out").notNull(),
    /** Seen at least once while its base plan sold online: only these are ever searchable. */
    everOnline: boolean("ever_online").notNull(),
    minPrice: numeric("min_price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    maxPrice: numeric("max_price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    zoneCount: integer("zone_count").notNull(),
    /** Hash of everything the provider said about this plan: unchanged plans are not rewritten. */
    contentHash: text("content_hash").notNull(),
    ...seen,
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("plans_base_plan_plan_uq").on(t.basePlanId, t.planId),
    // Containment search (starts_at >= $from and ends_at <= $to) and keyset pages ordered by
    // (starts_at, id); only ever-online plans are ever asked for.
    index("plans_search_idx").on(t.startsAt, t.id).where(sql`${t.everOnline}`),
  ],
);

export const zones = pgTable(
  "zones",
  {
    planId: uuid("plan_id")
      .notNull()
      .references(() => plans.id, { onDelete: "cascade" }),
    /** Order in the provider's document; zone_id alone can repeat inside one plan. */
    position: integer("position").notNull(),
    zoneId: text("zone_id").notNull(),
    name: text("name").notNull(),
    capacity: integer("capacity").notNull(),
    price: numeric("price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    numbered: boolean("numbered").notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.position] })],
);

export const planSyncRuns = pgTable(
  "plan_sync_runs",
  {
    id: uuid("id").primaryKey(),
    trigger: text("trigger").notNull(),
    outcome: text("outcome").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }).notNull(),
    documentHash: text("document_hash"),
    etag: text("etag"),
    lastModified: text("last_modified"),
    report: jsonb("report").notNull(),
  },
  (t) => [index("plan_sync_runs_finished_idx").on(t.finishedAt.desc())],
);
