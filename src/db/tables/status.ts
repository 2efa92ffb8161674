import { bigserial, index, integer, numeric, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * Request metrics per isolate, per minute, per route group (src/status/rollup.ts): written once per
 * completed minute by the isolate that served the requests, never per request. Purged after 8 days.
 * `buckets` holds the latency histogram's per-bucket counts (not cumulative), bounds in
 * LATENCY_BOUNDS_MS plus a last +Inf bucket.
 */
export const requestRollups = pgTable(
  "request_rollups",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    isolateId: text("isolate_id").notNull(),
    minute: timestamp("minute", { withTimezone: true, mode: "date" }).notNull(),
    routeGroup: text("route_group").notNull(),
    count: integer("count").notNull(),
    errors: integer("errors").notNull(),
    cacheLookups: integer("cache_lookups").notNull(),
    cacheHits: integer("cache_hits").notNull(),
    buckets: integer("buckets").array().notNull(),
    sumMs: numeric("sum_ms", { mode: "number" }).notNull(),
  },
  (t) => [
    uniqueIndex("request_rollups_isolate_minute_group_uq").on(t.isolateId, t.minute, t.routeGroup),
    index("request_rollups_minute_idx").on(t.minute),
  ],
);
