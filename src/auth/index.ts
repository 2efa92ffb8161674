/** The auth capability's public module: what other capabilities may use of API keys and principals. */
export type { Principal } from "./principal.ts";
export { hasScope } from "./principal.ts";
