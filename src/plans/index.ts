/** The plans capability's public module. */
export { publishedIndexGeneration } from "./search-index.ts";
export { flattenReport } from "./service.ts";
export { syncPlans } from "./sync.ts";
