/** The ops capability's public module: readiness and the hourly maintenance. */
export { runMaintenance } from "./maintenance.ts";
export { checkReadiness } from "./readiness.ts";
