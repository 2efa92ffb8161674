import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, TypedResponse } from "hono";
import { strongEtag } from "../../lib/entity-tags.ts";
import { DomainError } from "../../lib/errors.ts";
import { errorMessage } from "../../lib/log.ts";
import { listBody, pageQuery, pageSchema } from "../../lib/pagination.ts";
import type { SearchRange, SearchSource } from "../../plans/index.ts";
import {
  answerInMemory,
  currentSearchGeneration,
  EventSummary,
  getPlan,
  listPlans,
  Plan,
  parseBoundCached,
  searchEvents,
} from "../../plans/index.ts";
import type { AppEnv, CacheLevel } from "../context.ts";
import { cacheableAnswer, edgeKey, fromEdge, toEdge } from "../edge-cache.ts";
import { responseHeaders } from "../openapi-headers.ts";
import { cacheable, envelope, ifNoneMatch, notModified, problems, publicProblems } from "../openapi-schemas.ts";

const SearchOk = z.object({ data: z.object({ events: z.array(EventSummary) }), error: z.null() }).openapi("SearchResponse");

const PlanList = pageSchema(Plan, "PlanList");
const PlanEnvelope = envelope(Plan, "PlanEnvelope");

const SearchError = z.object({ error: z.object({ code: z.string(), message: z.string() }), data: z.null() }).openapi("SearchError");

/**
 * What src/plans/search.ts parseBound reads: an ISO 8601 date-time, "T" or a space between date and
 * time, seconds and fractions optional, an optional offset (none means UTC). Broader than RFC 3339's
 * `date-time` format, so stated as a pattern; an impossible date (2021-02-30) is still refused.
 */
const BOUND = "^\\s*\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}:?\\d{2})?\\s*$";

const bound = (side: string) =>
  z
    .string()
    .optional()
    .openapi({
      pattern: BOUND,
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
  operationId: "search",
  security: [],
  request: { query: z.object({ starts_at: bound("below"), ends_at: bound("above") }) },
  parameters: [ifNoneMatch],
  responses: {
    200: cacheable("Matching plans", SearchOk),
    304: notModified,
    400: { description: "Invalid parameter", headers: responseHeaders.problem, content: { "application/json": { schema: SearchError } } },
    429: {
      description: "Too many requests from this client address (Retry-After, RateLimit-*)",
      headers: responseHeaders.shieldLimited,
      content: { "application/json": { schema: SearchError } },
    },
    500: {
      description: "Temporarily unable to answer (Retry-After)",
      headers: responseHeaders.unavailable,
      content: { "application/json": { schema: SearchError } },
    },
    503: publicProblems[503],
  },
});

function searchError(c: Context<AppEnv>, status: 400 | 429 | 500, code: string, message: string) {
  if (status === 500) c.header("Retry-After", "5");
  // An error is about this moment or this request, never the answer: no cache may keep it.
  return c.json({ error: { code, message }, data: null }, status, { "Cache-Control": "no-store" });
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
  operationId: "listPlans",
  security: [],
  request: {
    query: z.strictObject({
      starts_at: bound("below"),
      ends_at: bound("above"),
      limit: pageQuery.limit,
      cursor: pageQuery.opaqueCursor.optional(),
    }),
  },
  parameters: [ifNoneMatch],
  responses: {
    200: cacheable("A page of plans", PlanList),
    304: notModified,
    422: problems[422],
    ...publicProblems,
  },
});

const getOne = createRoute({
  method: "get",
  path: "/v1/plans/{id}",
  tags: ["Plans"],
  summary: "One plan with its zones",
  operationId: "getPlan",
  security: [],
  request: { params: z.object({ id: z.uuid() }) },
  parameters: [ifNoneMatch],
  responses: {
    200: cacheable("The plan", PlanEnvelope),
    304: notModified,
    404: problems[404],
    422: problems[422],
    ...publicProblems,
  },
});

const LEVEL_OF: Record<SearchSource, CacheLevel> = { memory: "memory", cache: "kv", database: "database" };

/**
 * /search through its cache levels, fastest first. This isolate's copy of the index costs no I/O
 * at all. An isolate without it (new, or holding an older generation) asks the data centre's Cache
 * API for this exact answer before loading the index from KV, which is about 1 MB to read and parse
 * where the Cache API hands over just this range's bytes. Postgres answers only when KV has no index.
 * Cache API keys carry the generation, so a sync that changes anything is a new key: no purge.
 */
async function answerSearch(c: Context<AppEnv>, range: SearchRange) {
  const rt = c.get("rt");
  const rangeKey = `/search?from=${range.from ?? ""}&to=${range.to ?? ""}`;
  const generation = await currentSearchGeneration(rt);
  const askEdge = generation !== null && !answerInMemory(generation, range);
  if (askEdge) {
    const hit = await fromEdge(c, edgeKey(c.req.url, generation, rangeKey));
    if (hit) return { ...hit, level: "edge" as const };
  }
  const { etag, generation: built, body, source } = await searchEvents(rt, range);
  // Filled on its own misses only: a put per answer from memory would be a write per request.
  const sent = askEdge && built !== null ? toEdge(c, edgeKey(c.req.url, built, rangeKey), etag, body) : body;
  return { etag, body: sent, level: LEVEL_OF[source] };
}

const utf8 = new TextEncoder();

/**
 * /v1/plans and /v1/plans/{id}: the Cache API (per generation and exact URL, since a page's links
 * repeat it), then the generation-namespaced KV entries, then Postgres. The ETag is the body's hash,
 * so it holds across levels, isolates and generations for as long as the bytes are the same.
 */
async function answerPlanRead(
  c: Context<AppEnv>,
  read: (generation: string | null) => Promise<{ json: unknown; cache: "hit" | "miss" | "error" }>,
) {
  const generation = await currentSearchGeneration(c.get("rt"));
  const url = new URL(c.req.url);
  const key = generation === null ? null : edgeKey(c.req.url, generation, url.pathname + url.search);
  const hit = key === null ? null : await fromEdge(c, key);
  if (hit) return cacheableAnswer(c, { ...hit, level: "edge" });
  const { json, cache } = await read(generation);
  const bytes = utf8.encode(JSON.stringify(json)) as Uint8Array<ArrayBuffer>;
  const tag = await strongEtag(bytes);
  const body = key === null ? bytes : toEdge(c, key, tag, bytes);
  return cacheableAnswer(c, { etag: tag, body, level: cache === "hit" ? "kv" : "database", outcome: cache });
}

export const planRoutes = new OpenAPIHono<AppEnv>()
  .openapi(
    search,
    async (c) => {
      const range = rangeOrError(c.req.valid("query"));
      if ("code" in range) return searchError(c, 400, range.code, range.message);
      try {
        // Pre-serialised by the search index (memoised per range) or the Cache API; typed as the JSON it is.
        return cacheableAnswer(c, await answerSearch(c, range)) as unknown as TypedResponse<z.infer<typeof SearchOk>, 200, "json">;
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
    return (await answerPlanRead(c, async (generation) => {
      const { value, cache } = await listPlans(c.get("rt"), { ...range, limit: q.limit, cursor: q.cursor }, generation);
      return { json: listBody(c.req.url, q.limit, value), cache };
    })) as unknown as TypedResponse<z.infer<typeof PlanList>, 200, "json">;
  })
  .openapi(getOne, async (c) => {
    const id = c.req.valid("param").id;
    return (await answerPlanRead(c, async (generation) => {
      const { value, cache } = await getPlan(c.get("rt"), id, generation);
      return { json: { data: value, meta: {} }, cache };
    })) as unknown as TypedResponse<{ data: Plan; meta: Record<string, never> }, 200, "json">;
  });
