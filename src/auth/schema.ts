import { z } from "zod";
import { SCOPES } from "./principal.ts";

/** The API key resource's shapes: the single source of its types, the routes and the OpenAPI document. */

const RateLimitRule = z
  .strictObject({
    limit: z.number().int().min(1).max(1_000_000),
    period_seconds: z.number().int().min(1).max(86_400),
  })
  .meta({ id: "RateLimitRule", description: "At most `limit` requests per `period_seconds` (token bucket / sliding window)" });

/** What admins see of a key; never the key or its hash. */
export const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: "The key's first characters, to tell keys apart", example: "sk_live_AbC1" }),
    scopes: z.array(z.string()),
    rate_limit: z.union([RateLimitRule, z.null()]).meta({ description: "null: the configured default applies" }),
    created_at: z.iso.datetime(),
    revoked_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "ApiKey" });
export type ApiKey = z.infer<typeof ApiKey>;

export const NewApiKey = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1),
    rate_limit: RateLimitRule.optional(),
  })
  .meta({ id: "NewApiKey" });
export type NewApiKey = z.infer<typeof NewApiKey>;

export const CreatedApiKey = ApiKey.extend({
  key: z.string().meta({ description: "The API key. Shown only in this response: store it now." }),
}).meta({ id: "CreatedApiKey" });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;
