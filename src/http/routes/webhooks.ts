import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { listBody, pageSchema } from "../../lib/pagination.ts";
import {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
} from "../../webhooks/schema.ts";
import {
  createEndpoint,
  getEndpoint,
  listDeliveryPage,
  listEndpointPage,
  patchEndpoint,
  redeliver,
  removeEndpoint,
  rotateSecret,
  sendTestEvent,
} from "../../webhooks/service.ts";
import type { AppEnv } from "../context.ts";
import { requireScope } from "../middleware/auth.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { authProblems, envelope, problems } from "../openapi-schemas.ts";

const security = [{ bearerAuth: [] }];
const tags = ["Webhooks"];
const manage = requireScope("webhooks:manage");
// Routes that point subscriber data somewhere (register, change an endpoint) or show it (the delivery
// log and a redelivery carry subscriber ids and what receivers echoed) need the right to read it too.
const readData = requireScope("subscribers:read");
const MAX_BODY_BYTES = 8 * 1024;
const idParam = z.object({ id: z.uuid() });
const page = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.uuid().optional() });
const EndpointEnvelope = envelope(WebhookEndpoint, "WebhookEndpointEnvelope");
const SecretEnvelope = envelope(WebhookEndpointWithSecret, "WebhookEndpointWithSecretEnvelope");
const DeliveryEnvelope = envelope(WebhookDelivery, "WebhookDeliveryEnvelope");
const withBody = { 400: problems[400], 413: problems[413], 415: problems[415], 422: problems[422] };

const create = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags,
  summary: "Register a webhook endpoint",
  description: "The signing secret is in `data.secret` of this response only.",
  security,
  middleware: [manage, readData, ...jsonBody(MAX_BODY_BYTES)] as const,
  request: { body: { required: true, content: { "application/json": { schema: WebhookEndpointInput } } } },
  responses: {
    201: {
      description: "Created",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: SecretEnvelope } },
    },
    ...authProblems,
    ...withBody,
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags,
  summary: "List webhook endpoints, oldest first",
  security,
  middleware: [manage] as const,
  request: { query: page },
  responses: {
    200: {
      description: "A page of endpoints",
      content: { "application/json": { schema: pageSchema(WebhookEndpoint, "WebhookEndpointList") } },
    },
    ...authProblems,
    422: problems[422],
  },
});

const getOne = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Read a webhook endpoint (never its secret)",
  security,
  middleware: [manage] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The endpoint", content: { "application/json": { schema: EndpointEnvelope } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const patch = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Enable, disable, or change an endpoint's URL, events or description",
  security,
  middleware: [manage, readData, ...jsonBody(MAX_BODY_BYTES)] as const,
  request: { params: idParam, body: { required: true, content: { "application/json": { schema: WebhookEndpointPatch } } } },
  responses: {
    200: { description: "The endpoint", content: { "application/json": { schema: EndpointEnvelope } } },
    ...authProblems,
    404: problems[404],
    ...withBody,
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Delete an endpoint with its deliveries",
  security,
  middleware: [manage] as const,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...authProblems, 404: problems[404], 422: problems[422] },
});

const rotate = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  tags,
  summary: "Rotate the signing secret",
  description: "The new secret is in `data.secret` of this response only. The old one keeps signing, beside it, for 24 hours.",
  security,
  middleware: [manage] as const,
  request: { params: idParam },
  responses: {
    200: { description: "The endpoint and its new secret", content: { "application/json": { schema: SecretEnvelope } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const test = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/test",
  tags,
  summary: "Send a webhook.test event",
  security,
  middleware: [manage] as const,
  request: { params: idParam },
  responses: {
    202: { description: "The delivery, pending", content: { "application/json": { schema: DeliveryEnvelope } } },
    ...authProblems,
    404: problems[404],
    409: problems[409],
    422: problems[422],
  },
});

const deliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags,
  summary: "Deliveries to an endpoint, newest first, with every attempt's status code, latency and first 1 KB of answer",
  security,
  middleware: [manage, readData] as const,
  request: { params: idParam, query: page },
  responses: {
    200: {
      description: "A page of deliveries",
      content: { "application/json": { schema: pageSchema(WebhookDelivery, "WebhookDeliveryList") } },
    },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
  tags,
  summary: "Send a delivery again now, under the same webhook-id",
  security,
  middleware: [manage, readData] as const,
  request: { params: z.object({ id: z.uuid(), delivery_id: z.uuid() }) },
  responses: {
    202: { description: "The delivery, pending again", content: { "application/json": { schema: DeliveryEnvelope } } },
    ...authProblems,
    404: problems[404],
    409: problems[409],
    422: problems[422],
  },
});

export const webhookRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const created = await createEndpoint(c.get("rt"), c.req.valid("json"));
    return c.json({ data: created, meta: {} }, 201, { Location: `/v1/webhooks/${created.id}` });
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    return c.json(listBody(c.req.url, q.limit, await listEndpointPage(c.get("rt"), q)), 200);
  })
  .openapi(getOne, async (c) => c.json({ data: await getEndpoint(c.get("rt"), c.req.valid("param").id), meta: {} }, 200))
  .openapi(patch, async (c) =>
    c.json({ data: await patchEndpoint(c.get("rt"), c.req.valid("param").id, c.req.valid("json")), meta: {} }, 200),
  )
  .openapi(remove, async (c) => {
    await removeEndpoint(c.get("rt"), c.req.valid("param").id);
    return c.body(null, 204);
  })
  .openapi(rotate, async (c) => c.json({ data: await rotateSecret(c.get("rt"), c.req.valid("param").id), meta: {} }, 200))
  .openapi(test, async (c) => c.json({ data: await sendTestEvent(c.get("rt"), c.req.valid("param").id), meta: {} }, 202))
  .openapi(deliveries, async (c) => {
    const q = c.req.valid("query");
    return c.json(listBody(c.req.url, q.limit, await listDeliveryPage(c.get("rt"), c.req.valid("param").id, q)), 200);
  })
  .openapi(redeliverRoute, async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    return c.json({ data: await redeliver(c.get("rt"), id, delivery_id), meta: {} }, 202);
  });
