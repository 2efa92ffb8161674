import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { listBody, pageSchema } from "../../lib/pagination.ts";
import { listQueryFields, listSubscriberPage } from "../../subscribers/list.ts";
import { Operation, Subscriber, SubscriberInput, SubscriberStatus } from "../../subscribers/schema.ts";
import { createSubscriber, getOperation, getSubscriber } from "../../subscribers/service.ts";
import type { AppEnv } from "../context.ts";
import { requireScope } from "../middleware/auth.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { authProblems, envelope, problems } from "../openapi-schemas.ts";

const security = [{ bearerAuth: [] }];

const create = createRoute({
  method: "post",
  path: "/v1/subscribers",
  tags: ["Subscribers"],
  summary: "Accept a subscriber for creation (asynchronous)",
  description:
    "Validates at the edge and enqueues; the queue consumer stores it unless the email exists. Follow `Location` to the operation. `Idempotency-Key` replays the first response for 24 h.",
  security,
  middleware: [requireScope("subscribers:write"), ...jsonBody()] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().min(1).max(255).optional() }),
    body: { required: true, content: { "application/json": { schema: SubscriberInput } } },
  },
  responses: {
    202: {
      description: "Accepted; the operation is pending",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: envelope(Operation, "OperationEnvelope") } },
    },
    ...authProblems,
    400: problems[400],
    409: problems[409],
    413: problems[413],
    415: problems[415],
    422: problems[422],
  },
});

const getOne = createRoute({
  method: "get",
  path: "/v1/subscribers/{id_or_email}",
  tags: ["Subscribers"],
  summary: "Read a subscriber by id or email",
  security,
  middleware: [requireScope("subscribers:read")] as const,
  request: { params: z.object({ id_or_email: z.string().min(1).max(254) }) },
  responses: {
    200: { description: "The subscriber", content: { "application/json": { schema: envelope(Subscriber, "SubscriberEnvelope") } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/subscribers",
  tags: ["Subscribers"],
  summary: "List subscribers, newest first, filtered, with keyset cursors both ways",
  description:
    "Newest first by `sort` (created_at or updated_at), ties broken by id. `meta.next_cursor` goes to older subscribers (`cursor`), `meta.prev_cursor` back to newer ones (`prev_cursor`); give one of them, with the sort the cursor came from. Bounds are ISO 8601 date-times with an offset.",
  security,
  middleware: [requireScope("subscribers:read")] as const,
  request: { query: z.strictObject({ status: SubscriberStatus.optional(), ...listQueryFields }) },
  responses: {
    200: { description: "A page of subscribers", content: { "application/json": { schema: pageSchema(Subscriber, "SubscriberList") } } },
    ...authProblems,
    422: problems[422],
  },
});

const operation = createRoute({
  method: "get",
  path: "/v1/operations/{id}",
  tags: ["Subscribers"],
  summary: "Outcome of an accepted write",
  security,
  middleware: [requireScope("subscribers:read")] as const,
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: { description: "The operation", content: { "application/json": { schema: envelope(Operation, "OperationResult") } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

export const subscriberRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const { operation: op, replayed } = await createSubscriber(
      c.get("rt"),
      c.get("principal")!,
      c.req.valid("json"),
      c.req.valid("header")["idempotency-key"],
    );
    const headers: Record<string, string> = { Location: `/v1/operations/${op.id}` };
    if (replayed) headers["Idempotent-Replayed"] = "true";
    return c.json({ data: op, meta: {} }, 202, headers);
  })
  .openapi(getOne, async (c) => {
    const { value, cache } = await getSubscriber(c.get("rt"), c.req.valid("param").id_or_email);
    c.set("cacheOutcome", cache);
    return c.json({ data: value, meta: {} }, 200);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { value, cache } = await listSubscriberPage(c.get("rt"), q);
    c.set("cacheOutcome", cache);
    return c.json(listBody(c.req.url, q.limit, value), 200);
  })
  .openapi(operation, async (c) => c.json({ data: await getOperation(c.get("rt"), c.req.valid("param").id), meta: {} }, 200));
