/** The plans capability's public module. */
export { EventSummary, Plan, SyncReport } from "./schema.ts";
export type { SearchRange, SearchSource } from "./search.ts";
export { answerInMemory, currentSearchGeneration, parseBoundCached, searchEvents } from "./search.ts";
export { publishedIndexGeneration } from "./search-index.ts";
export { flattenReport, getPlan, lastSyncReport, listPlans, runPlanSync } from "./service.ts";
export { syncPlans } from "./sync.ts";
