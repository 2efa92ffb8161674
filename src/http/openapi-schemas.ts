import { z } from "@hono/zod-openapi";
import { PROVIDER_FAILURES } from "../providers/errors.ts";
import type { Headers } from "./openapi-headers.ts";
import { responseHeaders } from "./openapi-headers.ts";

/**
 * The responses routes share, declared once: problems (with the members each kind adds, typed),
 * envelopes and the headers of each kind of answer (src/http/openapi-headers.ts). A route spreads
 * the sets that apply to it, so every status it can answer is listed, and only those.
 */

const FieldError = z.object({ field: z.string(), message: z.string() }).openapi("FieldError");

export const Problem = z
  .object({
    type: z.string().openapi({ example: "/problems/validation_failed" }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    instance: z.string(),
    request_id: z.string(),
    errors: z.array(FieldError).optional(),
  })
  .loose()
  .openapi("Problem", { description: "RFC 9457 problem details" });

/** Members of a problem that reports the outcome of a queued write (`Prefer: wait`). */
const outcome = {
  code: z.string().optional().openapi({ description: "The operation's outcome code: already_exists, superseded, precondition_failed, …" }),
  operation_id: z.uuid().optional().openapi({ description: "The operation whose outcome this is" }),
};

const ForbiddenProblem = Problem.extend({
  required_scope: z.string().openapi({ description: "The scope the key would need", example: "subscribers:write" }),
}).openapi("ForbiddenProblem");

const ConflictProblem = Problem.extend({
  ...outcome,
  existing_id: z
    .uuid()
    .optional()
    .openapi({ description: "already_exists: the subscriber with that email (keys with subscribers:read only)" }),
}).openapi("ConflictProblem");

const PreconditionProblem = Problem.extend({
  ...outcome,
  current_version: z
    .number()
    .int()
    .nullable()
    .optional()
    .openapi({ description: "The subscriber's version now; its ETag is the quoted form" }),
}).openapi("PreconditionFailedProblem");

const OutcomeProblem = Problem.extend(outcome).openapi("OutcomeProblem");

const ProviderProblem = Problem.extend({
  provider_failure: z.enum(PROVIDER_FAILURES).optional().openapi({ description: "Why the provider could not be used" }),
}).openapi("ProviderProblem");

const problem = (description: string, schema: z.ZodType = Problem, headers: Headers = responseHeaders.problem) => ({
  description,
  headers,
  content: { "application/problem+json": { schema } },
});

const unavailable = problem(
  "A dependency (database, queue, limiter) is unavailable; retry after Retry-After seconds",
  Problem,
  responseHeaders.unavailable,
);
const internal = problem("An unexpected error; quote its request_id");
const rateLimited = problem("Rate limit exceeded; retry after Retry-After seconds", Problem, responseHeaders.rateLimited);

/** The error responses every route behind an API key can give. */
export const authProblems = {
  401: problem("Missing or invalid API key", Problem, responseHeaders.unauthorized),
  403: problem("The API key lacks the scope `required_scope`", ForbiddenProblem),
  429: rateLimited,
  500: internal,
  503: unavailable,
} as const;

/** Admin routes answer 404, never 401, to a caller without a valid key: they cannot be discovered. */
export const adminProblems = {
  403: authProblems[403],
  404: problem("No valid key (admin routes hide from callers without one), or no such resource"),
  429: rateLimited,
  500: internal,
  503: unavailable,
} as const;

/** Public routes are limited per client IP instead of per key. */
export const publicProblems = {
  429: problem("Too many requests from this client address; retry after Retry-After seconds", Problem, responseHeaders.shieldLimited),
  500: internal,
  503: unavailable,
} as const;

export const problems = {
  400: problem("Malformed request: the body is not JSON (or not UTF-8)"),
  404: problem("Not found", OutcomeProblem),
  409: problem("Conflict (`code` says which)", ConflictProblem),
  410: problem("Erased: the resource existed and was erased with its subscriber; it never comes back"),
  412: problem("If-Match does not hold for the current version (`current_version`)", PreconditionProblem),
  413: problem("Body too large"),
  415: problem("Body is not `application/json` (charset utf-8 only)"),
  422: problem("Invalid fields; `errors` names each one", OutcomeProblem),
  502: problem(
    "The provider could not be read after retries, or sent an unusable document (Retry-After)",
    ProviderProblem,
    responseHeaders.unavailable,
  ),
  providerUnavailable: problem(
    "The provider's circuit breaker is open, or the database is unavailable (Retry-After)",
    ProviderProblem,
    responseHeaders.unavailable,
  ),
} as const;

/** A body-less route refuses a body (src/http/middleware/json-body.ts, noBody). */
export const noBodyProblem = { 413: problem("This route takes no body (or a body larger than the app's limit was sent)") } as const;

/** The statuses a route with a JSON body adds. */
export const jsonBodyProblems = { 400: problems[400], 413: problems[413], 415: problems[415], 422: problems[422] } as const;

export const envelope = <T extends z.ZodType>(data: T, name: string) =>
  z.object({ data, meta: z.record(z.string(), z.unknown()) }).openapi(name);

/** A success behind an API key: `Cache-Control: no-store` and what is left of the key's limit. */
export const ok = <T extends z.ZodType>(description: string, schema: T, headers: Headers = {}) => ({
  description,
  headers: { ...responseHeaders.keyed, ...headers },
  content: { "application/json": { schema } },
});

/** A success with no body. */
export const empty = (description: string, headers: Headers = {}) => ({ description, headers: { ...responseHeaders.keyed, ...headers } });

/** A success on a public route. */
export const publicOk = <T extends z.ZodType>(description: string, schema: T, headers: Headers = {}) => ({
  description,
  headers: { ...responseHeaders.public, ...headers },
  content: { "application/json": { schema } },
});

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

/** A 200 that shared caches may keep, with its validator. */
export const cacheable = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  headers: responseHeaders.cacheable,
  content: { "application/json": { schema } },
});

export const notModified = {
  description: "Not modified: If-None-Match names the current ETag; no body",
  headers: responseHeaders.cacheable,
} as const;
