import { OpenAPIHono, z } from "@hono/zod-openapi";
import { idPageQuery, listBody, pageSchema } from "../../lib/pagination.ts";
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
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointInput,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
} from "../../webhooks/index.ts";
import type { AppEnv } from "../context.ts";
import { keyedRoute } from "../keyed-route.ts";
import { jsonBody, noBody } from "../middleware/json-body.ts";
import { responseHeaders } from "../openapi-headers.ts";
import { empty, envelope, jsonBodyProblems, noBodyProblem, ok, problems } from "../openapi-schemas.ts";

const tags = ["Webhooks"];
// Routes that point subscriber data somewhere (register, change an endpoint) or show it (the delivery
// log and a redelivery carry subscriber ids and what receivers echoed) need the right to read it too.
const manageData = ["webhooks:manage", "subscribers:read"] as const;
const MAX_BODY_BYTES = 8 * 1024;
const idParam = z.object({ id: z.uuid() });
const EndpointEnvelope = envelope(WebhookEndpoint, "WebhookEndpointEnvelope");
const SecretEnvelope = envelope(WebhookEndpointWithSecret, "WebhookEndpointWithSecretEnvelope");
const DeliveryEnvelope = envelope(WebhookDelivery, "WebhookDeliveryEnvelope");

const create = keyedRoute(manageData, {
  method: "post",
  path: "/v1/webhooks",
  tags,
  summary: "Register a webhook endpoint",
  description: "The signing secret is in `data.secret` of this response only.",
  operationId: "createWebhook",
  middleware: jsonBody(MAX_BODY_BYTES),
  request: { body: { required: true, content: { "application/json": { schema: WebhookEndpointInput } } } },
  responses: {
    201: ok("Created", SecretEnvelope, responseHeaders.location),
    ...jsonBodyProblems,
  },
});

const list = keyedRoute("webhooks:manage", {
  method: "get",
  path: "/v1/webhooks",
  tags,
  summary: "List webhook endpoints, oldest first",
  operationId: "listWebhooks",
  request: { query: idPageQuery },
  responses: {
    200: ok("A page of endpoints", pageSchema(WebhookEndpoint, "WebhookEndpointList")),
  },
});

const getOne = keyedRoute("webhooks:manage", {
  method: "get",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Read a webhook endpoint (never its secret)",
  operationId: "getWebhook",
  request: { params: idParam },
  responses: {
    200: ok("The endpoint", EndpointEnvelope),
  },
});

const patch = keyedRoute(manageData, {
  method: "patch",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Enable, disable, or change an endpoint's URL, events or description",
  operationId: "updateWebhook",
  middleware: jsonBody(MAX_BODY_BYTES),
  request: { params: idParam, body: { required: true, content: { "application/json": { schema: WebhookEndpointPatch } } } },
  responses: {
    200: ok("The endpoint", EndpointEnvelope),
    ...jsonBodyProblems,
  },
});

const remove = keyedRoute("webhooks:manage", {
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags,
  summary: "Delete an endpoint with its deliveries",
  operationId: "deleteWebhook",
  middleware: [noBody],
  request: { params: idParam },
  responses: { 204: empty("Deleted"), ...noBodyProblem },
});

const rotate = keyedRoute("webhooks:manage", {
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  tags,
  summary: "Rotate the signing secret",
  description: "The new secret is in `data.secret` of this response only. The old one keeps signing, beside it, for 24 hours.",
  operationId: "rotateWebhookSecret",
  middleware: [noBody],
  request: { params: idParam },
  responses: {
    200: ok("The endpoint and its new secret", SecretEnvelope),
    ...noBodyProblem,
  },
});

const test = keyedRoute("webhooks:manage", {
  method: "post",
  path: "/v1/webhooks/{id}/test",
  tags,
  summary: "Send a webhook.test event",
  operationId: "testWebhook",
  middleware: [noBody],
  request: { params: idParam },
  responses: {
    202: ok("The delivery, pending", DeliveryEnvelope),
    ...noBodyProblem,
    409: problems[409],
  },
});

const deliveries = keyedRoute(manageData, {
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags,
  summary: "Deliveries to an endpoint, newest first, with every attempt's status code, latency and first 1 KB of answer",
  operationId: "listWebhookDeliveries",
  request: { params: idParam, query: idPageQuery },
  responses: {
    200: ok("A page of deliveries", pageSchema(WebhookDelivery, "WebhookDeliveryList")),
  },
});

const redeliverRoute = keyedRoute(manageData, {
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
  tags,
  summary: "Send a delivery again now, under the same webhook-id",
  operationId: "redeliverWebhookDelivery",
  middleware: [noBody],
  request: { params: z.object({ id: z.uuid(), delivery_id: z.uuid() }) },
  responses: {
    202: ok("The delivery, pending again", DeliveryEnvelope),
    ...noBodyProblem,
    409: problems[409],
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
