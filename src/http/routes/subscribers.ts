import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { OPERATION_ERROR_CODES, SUBSCRIBER_STATUSES, SubscriberInput } from "../../subscribers/model.ts";
import { createSubscriber, getOperation, getStats, getSubscriber, listSubscriberPage } from "../../subscribers/service.ts";
import type { AppEnv } from "../context.ts";
import { requireScope } from "../middleware/auth.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { authProblems, envelope, problems } from "../openapi-schemas.ts";

const Subscriber = z
  .object({
    id: z.uuid(),
    email: z.email(),
    name: z.string(),
    last_name: z.string(),
    status: z.enum(SUBSCRIBER_STATUSES),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Subscriber");

const Operation = z
  .object({
    id: z.uuid(),
    kind: z.literal("subscriber.create"),
    status: z.enum(["pending", "succeeded", "failed"]),
    subscriber_id: z.uuid().nullable(),
    error: z.object({ code: z.enum(OPERATION_ERROR_CODES), message: z.string() }).nullable(),
    completed_at: z.iso.datetime().nullable(),
  })
  .openapi("Operation");

const SubscriberList = z
  .object({
    data: z.array(Subscriber),
    meta: z.object({ limit: z.number().int(), next_cursor: z.string().nullable() }),
    links: z.object({ next: z.string().nullable() }),
  })
  .openapi("SubscriberList");

const Stats = z
  .object({
    subscribers: z.object({ total: z.number().int(), by_status: z.record(z.enum(SUBSCRIBER_STATUSES), z.number().int()) }),
    plans: z.object({ total: z.number().int(), searchable: z.number().int() }),
    generated_at: z.iso.datetime(),
  })
  .openapi("Stats");

const MAX_BODY_BYTES = 16 * 1024;
const security = [{ bearerAuth: [] }];

const create = createRoute({
  method: "post",
  path: "/v1/subscribers",
  tags: ["Subscribers"],
  summary: "Accept a subscriber for creation (asynchronous)",
  description:
    "Validates at the edge and enqueues; the queue consumer stores it unless the email exists. Follow `Location` to the operation. `Idempotency-Key` replays the first response for 24 h.",
  security,
  middleware: [requireScope("subscribers:write"), ...jsonBody(MAX_BODY_BYTES)] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().min(1).max(255).optional() }),
    body: { required: true, content: { "application/json": { schema: SubscriberInput.openapi("SubscriberInput") } } },
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
  summary: "List subscribers, newest first, with keyset cursors",
  security,
  middleware: [requireScope("subscribers:read")] as const,
  request: {
    query: z.strictObject({
      status: z.enum(SUBSCRIBER_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(25),
      cursor: z.string().min(1).max(512).optional(),
    }),
  },
  responses: {
    200: { description: "A page of subscribers", content: { "application/json": { schema: SubscriberList } } },
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

const stats = createRoute({
  method: "get",
  path: "/v1/stats",
  tags: ["Subscribers"],
  summary: "Subscriber counts by status and plan counts",
  security,
  middleware: [requireScope("subscribers:read")] as const,
  responses: {
    200: { description: "Counts", content: { "application/json": { schema: envelope(Stats, "StatsEnvelope") } } },
    ...authProblems,
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
    let next: string | null = null;
    if (value.nextCursor) {
      const url = new URL(c.req.url);
      url.searchParams.set("cursor", value.nextCursor);
      next = `${url.pathname}${url.search}`;
    }
    return c.json({ data: value.data, meta: { limit: q.limit, next_cursor: value.nextCursor }, links: { next } }, 200);
  })
  .openapi(operation, async (c) => c.json({ data: await getOperation(c.get("rt"), c.req.valid("param").id), meta: {} }, 200))
  .openapi(stats, async (c) => {
    const { value, cache } = await getStats(c.get("rt"));
    c.set("cacheOutcome", cache);
    return c.json({ data: value, meta: {} }, 200);
  });
