/** The stats capability's public module. */
export { forgetStats } from "./service.ts";
