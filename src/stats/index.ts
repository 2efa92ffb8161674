/** The stats capability's public module. */
export { Stats } from "./schema.ts";
export { forgetStats, getStats } from "./service.ts";
