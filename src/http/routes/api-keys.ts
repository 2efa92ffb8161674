import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiKey, CreatedApiKey, createApiKey, listApiKeyPage, NewApiKey, revokeKey } from "../../auth/index.ts";
import { idPageQuery, listBody, pageSchema } from "../../lib/pagination.ts";
import type { AppEnv } from "../context.ts";
import { adminRoute } from "../keyed-route.ts";
import { jsonBody, noBody } from "../middleware/json-body.ts";
import { responseHeaders } from "../openapi-headers.ts";
import { envelope, jsonBodyProblems, noBodyProblem, ok } from "../openapi-schemas.ts";

/** A key's name, scopes and rate limit fit in far less than the app-wide body limit. */
const MAX_BODY_BYTES = 4 * 1024;
const adminNote = "Requires the `admin` scope. Without a valid key this route answers 404, as if it did not exist.";

const create = adminRoute({
  method: "post",
  path: "/v1/admin/api-keys",
  tags: ["Admin"],
  summary: "Create an API key",
  description: `${adminNote} The key is in \`data.key\` of this response only.`,
  operationId: "createApiKey",
  middleware: jsonBody(MAX_BODY_BYTES),
  request: { body: { required: true, content: { "application/json": { schema: NewApiKey } } } },
  responses: {
    201: ok("Created", envelope(CreatedApiKey, "CreatedApiKeyEnvelope"), responseHeaders.location),
    ...jsonBodyProblems,
  },
});

const list = adminRoute({
  method: "get",
  path: "/v1/admin/api-keys",
  tags: ["Admin"],
  summary: "List API keys, newest first",
  description: adminNote,
  operationId: "listApiKeys",
  request: { query: idPageQuery },
  responses: {
    200: ok("A page of keys", pageSchema(ApiKey, "ApiKeyList")),
  },
});

const revoke = adminRoute({
  method: "delete",
  path: "/v1/admin/api-keys/{id}",
  tags: ["Admin"],
  summary: "Revoke an API key",
  description: `${adminNote} Idempotent. The key stops working at once where it was revoked; elsewhere a signed key within 10 s (the revocation list's refresh) and a key without a signature within 70 s, plus KV propagation (docs/api.md).`,
  operationId: "revokeApiKey",
  middleware: [noBody],
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: ok("The revoked key", envelope(ApiKey, "ApiKeyEnvelope")),
    ...noBodyProblem,
  },
});

export const apiKeyRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const created = await createApiKey(c.get("rt"), c.req.valid("json"));
    return c.json({ data: created, meta: {} }, 201, { Location: `/v1/admin/api-keys/${created.id}`, "Cache-Control": "no-store" });
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    return c.json(listBody(c.req.url, q.limit, await listApiKeyPage(c.get("rt"), q)), 200);
  })
  .openapi(revoke, async (c) => c.json({ data: await revokeKey(c.get("rt"), c.req.valid("param").id), meta: {} }, 200));
