/** The auth capability's public module: what other capabilities may use of API keys and principals. */
export { authenticate } from "./api-keys.ts";
export { createApiKey, listApiKeyPage, revokeKey } from "./key-admin.ts";
export type { Principal, Scope } from "./principal.ts";
export { hasScope } from "./principal.ts";
export { settleRevocations } from "./revocations.ts";
export { ApiKey, CreatedApiKey, NewApiKey } from "./schema.ts";
