/** The status capability's public module: request rollups, the status document and Prometheus metrics. */
export { flushRollups } from "./flush.ts";
export { OPENMETRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
export { bucketIndex, isolateRollups, recordRequest, routeGroup, takeDueRows } from "./rollup.ts";
export { Status, StatusWindow } from "./schema.ts";
export { getStatus } from "./service.ts";
