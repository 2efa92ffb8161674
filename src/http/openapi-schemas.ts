import { z } from "@hono/zod-openapi";

export const Problem = z
  .object({
    type: z.string().openapi({ example: "/problems/validation_failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    request_id: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .passthrough()
  .openapi("Problem", { description: "RFC 9457 problem details" });

const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

/** The error responses every authenticated /v1 route can give. */
export const authProblems = {
  401: problem("Missing or invalid API key"),
  403: problem("The API key lacks the required scope"),
  429: problem("Rate limit exceeded"),
  503: problem("A dependency is unavailable; retry after Retry-After seconds"),
} as const;

/** Public routes are limited per client IP instead of per key. */
export const publicProblems = {
  429: problem("Too many requests from this client address; retry after Retry-After seconds"),
} as const;

export const problems = {
  400: problem("Malformed request"),
  404: problem("Not found"),
  409: problem("Conflict"),
  410: problem("Erased: the resource existed and was erased with its subscriber; it never comes back"),
  412: problem("If-Match does not hold for the current version"),
  413: problem("Body too large"),
  415: problem("Body is not JSON"),
  422: problem("Invalid fields; `errors` names each one"),
} as const;

export const envelope = <T extends z.ZodType>(data: T, name: string) =>
  z.object({ data, meta: z.record(z.string(), z.unknown()) }).openapi(name);

/**
 * Conditional GET on the cacheable public plan reads (src/http/edge-cache.ts). Documented rather than
 * declared in `request.headers`: any value is acceptable (one that is not an entity-tag list simply
 * matches nothing), so a validator would only cost every request a parse of all its headers.
 */
export const ifNoneMatch = {
  in: "header",
  name: "If-None-Match",
  required: false,
  schema: { type: "string" },
  description: 'ETags from earlier answers (a list, weak or strong, or "*"): 304 with no body when one names the current answer.',
  example: '"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"',
} as const;

const cacheHeaders = z.object({
  ETag: z.string().openapi({ description: "Strong validator: changes when, and only when, the body changes" }),
  "Cache-Control": z.string().openapi({ example: "public, max-age=30, stale-while-revalidate=60" }),
});

/** A 200 that shared caches may keep, with its validator. */
export const cacheable = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  headers: cacheHeaders,
  content: { "application/json": { schema } },
});

export const notModified = { description: "Not modified: If-None-Match names the current ETag; no body", headers: cacheHeaders } as const;
