// The drizzle schema, one file per capability's tables under src/db/tables/; drizzle-kit reads this
// file (drizzle.config.ts) and every repository imports its tables from here.
export * from "./tables/auth.ts";
export * from "./tables/dead-letters.ts";
export * from "./tables/plans.ts";
export * from "./tables/stats.ts";
export * from "./tables/status.ts";
export * from "./tables/subscribers.ts";
export * from "./tables/webhooks.ts";
