import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, TypedResponse } from "hono";
import { DomainError } from "../../lib/errors.ts";
import { errorMessage } from "../../lib/log.ts";
import { listBody, pageSchema } from "../../lib/pagination.ts";
import { EventSummary, Plan } from "../../plans/schema.ts";
import type { SearchRange } from "../../plans/search.ts";
import { parseBoundCached, searchEvents } from "../../plans/search.ts";
import { getPlan, listPlans } from "../../plans/service.ts";
import type { AppEnv } from "../context.ts";
import { envelope, problems, publicProblems } from "../openapi-schemas.ts";

const SearchOk = z.object({ data: z.object({ events: z.array(EventSummary) }), error: z.null() }).openapi("SearchResponse");

const SearchError = z.object({ error: z.object({ code: z.string(), message: z.string() }), data: z.null() }).openapi("SearchError");

const bound = (side: string) =>
  z
    .string()
    .optional()
    .openapi({
      description: `ISO 8601 date-time; no offset means UTC. Omitted: unbounded ${side}.`,
      example: side === "below" ? "2021-06-30T00:00:00Z" : "2021-07-31T23:59:59Z",
    });

const search = createRoute({
  method: "get",
  path: "/search",
  tags: ["Plans"],
  summary: "Plans that start and end within a time range (Fever Providers API)",
  description:
    "Containment, inclusive at both ends: starts_at <= start and end <= ends_at. Plan times carry no zone and are compared as UTC. " +
    "Only plans that were ever sold online; plans that vanished from the provider are still returned. Answers from the edge index, never from the provider.",
  request: { query: z.object({ starts_at: bound("below"), ends_at: bound("above") }) },
  responses: {
    200: { description: "Matching plans", content: { "application/json": { schema: SearchOk } } },
    400: { description: "Invalid parameter", content: { "application/json": { schema: SearchError } } },
    429: {
      description: "Too many requests from this client address (Retry-After, RateLimit-*)",
      content: { "application/json": { schema: SearchError } },
    },
    500: { description: "Temporarily unable to answer (Retry-After)", content: { "application/json": { schema: SearchError } } },
  },
});

function searchError(c: Context<AppEnv>, status: 400 | 429 | 500, code: string, message: string) {
  if (status === 500) c.header("Retry-After", "5");
  return c.json({ error: { code, message }, data: null }, status);
}

/** /search's 429 in its own envelope; ipRateLimit adds Retry-After and the RateLimit headers. */
export const searchRateLimited = (c: Context<AppEnv>): Response =>
  searchError(c, 429, "rate_limited", "Too many requests from this address; retry after Retry-After seconds.");

function rangeOrError(q: {
  starts_at?: string | undefined;
  ends_at?: string | undefined;
}): SearchRange | { code: string; message: string } {
  const example = "e.g. 2021-06-30T21:00:00Z";
  const from = q.starts_at === undefined ? null : parseBoundCached(q.starts_at, "from");
  if (q.starts_at !== undefined && from === null)
    return { code: "invalid_starts_at", message: `starts_at must be an ISO 8601 date-time, ${example}` };
  const to = q.ends_at === undefined ? null : parseBoundCached(q.ends_at, "to");
  if (q.ends_at !== undefined && to === null)
    return { code: "invalid_ends_at", message: `ends_at must be an ISO 8601 date-time, ${example}` };
  if (from !== null && to !== null && from > to) return { code: "invalid_range", message: "starts_at must not be after ends_at" };
  return { from, to };
}

const list = createRoute({
  method: "get",
  path: "/v1/plans",
  tags: ["Plans"],
  summary: "Plans in start order with zones, sell window and sighting times (keyset cursors)",
  description: "Same range semantics as /search (containment, inclusive, UTC); both bounds optional.",
  request: {
    query: z.strictObject({
      starts_at: bound("below"),
      ends_at: bound("above"),
      limit: z.coerce.number().int().min(1).max(100).default(25),
      cursor: z.string().min(1).max(512).optional(),
    }),
  },
  responses: {
    200: { description: "A page of plans", content: { "application/json": { schema: pageSchema(Plan, "PlanList") } } },
    422: problems[422],
    ...publicProblems,
  },
});

const getOne = createRoute({
  method: "get",
  path: "/v1/plans/{id}",
  tags: ["Plans"],
  summary: "One plan with its zones",
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: { description: "The plan", content: { "application/json": { schema: envelope(Plan, "PlanEnvelope") } } },
    404: problems[404],
    422: problems[422],
    ...publicProblems,
  },
});

export const planRoutes = new OpenAPIHono<AppEnv>()
  .openapi(
    search,
    async (c) => {
      const range = rangeOrError(c.req.valid("query"));
      if ("code" in range) return searchError(c, 400, range.code, range.message);
      try {
        const { body, source } = await searchEvents(c.get("rt"), range);
        c.set("cacheOutcome", source === "database" ? "miss" : "hit");
        // Pre-serialised by the search index (memoised per range); typed as the JSON it is.
        return c.body(body, 200, { "Content-Type": "application/json; charset=utf-8" }) as unknown as TypedResponse<
          z.infer<typeof SearchOk>,
          200,
          "json"
        >;
      } catch (err) {
        // /search keeps the Fever envelope even when the database is unreachable on a cold cache.
        c.get("rt").log.warn("search_unavailable", { error: errorMessage(err) });
        return searchError(c, 500, "unavailable", "Search is temporarily unavailable; retry after Retry-After seconds.");
      }
    },
    (result, c) => {
      if (!result.success) return searchError(c, 400, "invalid_parameter", "starts_at and ends_at must each be given at most once");
    },
  )
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const range = rangeOrError(q);
    if ("code" in range) {
      throw new DomainError("validation_failed", range.message, {
        fields: [{ field: range.code === "invalid_ends_at" ? "query.ends_at" : "query.starts_at", message: range.message }],
      });
    }
    const { value, cache } = await listPlans(c.get("rt"), { ...range, limit: q.limit, cursor: q.cursor });
    c.set("cacheOutcome", cache);
    return c.json(listBody(c.req.url, q.limit, value), 200);
  })
  .openapi(getOne, async (c) => {
    const { value, cache } = await getPlan(c.get("rt"), c.req.valid("param").id);
    c.set("cacheOutcome", cache);
    return c.json({ data: value, meta: {} }, 200);
  });
