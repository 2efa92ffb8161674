import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { createApiKey, listApiKeyPage, revokeKey } from "../../auth/key-admin.ts";
import { SCOPES } from "../../auth/principal.ts";
import type { AppEnv } from "../context.ts";
import { requireAdmin } from "../middleware/auth.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { authProblems, envelope, problems } from "../openapi-schemas.ts";

const RateLimitRule = z
  .strictObject({
    limit: z.number().int().min(1).max(1_000_000),
    period_seconds: z.number().int().min(1).max(86_400),
  })
  .openapi("RateLimitRule", { description: "At most `limit` requests per `period_seconds` (token bucket / sliding window)" });

const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to tell keys apart", example: "sk_live_AbC1" }),
    scopes: z.array(z.string()),
    rate_limit: RateLimitRule.nullable().openapi({ description: "null: the configured default applies" }),
    created_at: z.iso.datetime(),
    revoked_at: z.iso.datetime().nullable(),
  })
  .openapi("ApiKey");

const NewApiKey = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1),
    rate_limit: RateLimitRule.optional(),
  })
  .openapi("NewApiKey");

const CreatedApiKey = ApiKey.extend({
  key: z.string().openapi({ description: "The API key. Shown only in this response: store it now." }),
}).openapi("CreatedApiKey");

const ApiKeyList = z
  .object({
    data: z.array(ApiKey),
    meta: z.object({ limit: z.number().int(), next_cursor: z.string().nullable() }),
    links: z.object({ next: z.string().nullable() }),
  })
  .openapi("ApiKeyList");

const security = [{ bearerAuth: [] }];
const MAX_BODY_BYTES = 4 * 1024;
const adminNote = "Requires the `admin` scope. Without a valid key this route answers 404, as if it did not exist.";

const create = createRoute({
  method: "post",
  path: "/v1/admin/api-keys",
  tags: ["Admin"],
  summary: "Create an API key",
  description: `${adminNote} The key is in \`data.key\` of this response only.`,
  security,
  middleware: [requireAdmin(), ...jsonBody(MAX_BODY_BYTES)] as const,
  request: { body: { required: true, content: { "application/json": { schema: NewApiKey } } } },
  responses: {
    201: {
      description: "Created",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: envelope(CreatedApiKey, "CreatedApiKeyEnvelope") } },
    },
    ...authProblems,
    400: problems[400],
    404: problems[404],
    413: problems[413],
    415: problems[415],
    422: problems[422],
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/admin/api-keys",
  tags: ["Admin"],
  summary: "List API keys, newest first",
  description: adminNote,
  security,
  middleware: [requireAdmin()] as const,
  request: {
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(100).default(25),
      cursor: z.uuid().optional(),
    }),
  },
  responses: {
    200: { description: "A page of keys", content: { "application/json": { schema: ApiKeyList } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const revoke = createRoute({
  method: "delete",
  path: "/v1/admin/api-keys/{id}",
  tags: ["Admin"],
  summary: "Revoke an API key",
  description: `${adminNote} Idempotent. The key stops working at once where it was revoked and everywhere within 60 s (the edge cache lifetime of a key lookup) plus KV propagation.`,
  security,
  middleware: [requireAdmin()] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: { description: "The revoked key", content: { "application/json": { schema: envelope(ApiKey, "ApiKeyEnvelope") } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

export const apiKeyRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const created = await createApiKey(c.get("rt"), c.req.valid("json"));
    return c.json({ data: created, meta: {} }, 201, { Location: `/v1/admin/api-keys/${created.id}`, "Cache-Control": "no-store" });
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const page = await listApiKeyPage(c.get("rt"), q);
    let next: string | null = null;
    if (page.nextCursor) {
      const url = new URL(c.req.url);
      url.searchParams.set("cursor", page.nextCursor);
      next = `${url.pathname}${url.search}`;
    }
    return c.json({ data: page.data, meta: { limit: q.limit, next_cursor: page.nextCursor }, links: { next } }, 200);
  })
  .openapi(revoke, async (c) => c.json({ data: await revokeKey(c.get("rt"), c.req.valid("param").id), meta: {} }, 200));
