import { OpenAPIHono, z } from "@hono/zod-openapi";
import { listBody, pageSchema } from "../../lib/pagination.ts";
import {
  createSubscriber,
  deleteSubscriber,
  etagOf,
  forgetSubscriber,
  getOperation,
  getSubscriber,
  listQueryFields,
  listSubscriberPage,
  Operation,
  parseIfMatch,
  Subscriber,
  SubscriberInput,
  SubscriberPatch,
  SubscriberStatus,
  updateSubscriber,
} from "../../subscribers/index.ts";
import type { AppEnv } from "../context.ts";
import { ifNoneMatchHolds } from "../edge-cache.ts";
import { keyedRoute } from "../keyed-route.ts";
import { jsonBody, noBody } from "../middleware/json-body.ts";
import { envelope, ok, problems } from "../openapi-schemas.ts";
import { localOperations } from "../operation-cache.ts";
import {
  createResponses,
  deleteResponses,
  forgetResponses,
  idempotencyKey,
  ifMatch,
  prefer,
  readResponses,
  subscriberRef as ref,
  updateResponses,
} from "./subscriber-openapi.ts";
import { outcome } from "./subscriber-outcome.ts";

const create = keyedRoute("subscribers:write", {
  method: "post",
  path: "/v1/subscribers",
  tags: ["Subscribers"],
  summary: "Accept a subscriber for creation (asynchronous)",
  description:
    "Validates at the edge and enqueues; the queue consumer stores it unless the email exists. Follow `Location` to the operation, or send `Prefer: wait=N` for the outcome.",
  operationId: "createSubscriber",
  middleware: jsonBody(),
  request: {
    headers: z.object({ "idempotency-key": idempotencyKey, prefer }),
    body: { required: true, content: { "application/json": { schema: SubscriberInput } } },
  },
  responses: createResponses,
});

const update = keyedRoute("subscribers:write", {
  method: "patch",
  path: "/v1/subscribers/{id_or_email}",
  tags: ["Subscribers"],
  summary: "Change a subscriber's name, last name or status (asynchronous)",
  description:
    "The email is immutable. Status changes follow the transition table in docs/api.md, under Status transitions; moving to `unsubscribed` records `unsubscribed_at`. Changes apply in the order they were accepted; an older change that a newer one overtook ends `superseded`.",
  operationId: "updateSubscriber",
  middleware: jsonBody(),
  request: {
    params: ref,
    headers: z.object({ "idempotency-key": idempotencyKey, prefer, "if-match": ifMatch }),
    body: { required: true, content: { "application/json": { schema: SubscriberPatch } } },
  },
  responses: updateResponses,
});

const remove = keyedRoute("subscribers:write", {
  method: "delete",
  path: "/v1/subscribers/{id_or_email}",
  tags: ["Subscribers"],
  summary: "Delete a subscriber (asynchronous)",
  description: "Gone from reads, lists and stats once applied; a later POST with the same email creates a new subscriber.",
  operationId: "deleteSubscriber",
  middleware: [noBody],
  request: { params: ref, headers: z.object({ "idempotency-key": idempotencyKey, prefer, "if-match": ifMatch }) },
  responses: deleteResponses,
});

const forget = keyedRoute("subscribers:erase", {
  method: "post",
  path: "/v1/subscribers/{id_or_email}/forget",
  tags: ["Subscribers"],
  summary: "Erase a subscriber and every copy of their data (GDPR art. 17, asynchronous)",
  description:
    "Removes the row, its operation and idempotency records, dead letters, events' personal data and every cache entry. Keeps a keyed hash of the email for 30 days so late messages cannot bring the person back. Works for an address whose subscriber was already deleted.",
  operationId: "forgetSubscriber",
  middleware: [noBody],
  request: { params: ref, headers: z.object({ "idempotency-key": idempotencyKey, prefer }) },
  // An erasure of an address with no subscriber left still erases what is kept of it: never a 404.
  notFound: false,
  responses: forgetResponses,
});

const getOne = keyedRoute("subscribers:read", {
  method: "get",
  path: "/v1/subscribers/{id_or_email}",
  tags: ["Subscribers"],
  summary: "Read a subscriber by id or email",
  operationId: "getSubscriber",
  request: { params: ref, headers: z.object({ "if-none-match": z.string().max(200).optional() }) },
  responses: readResponses,
});

const list = keyedRoute("subscribers:read", {
  method: "get",
  path: "/v1/subscribers",
  tags: ["Subscribers"],
  summary: "List subscribers, newest first, filtered, with keyset cursors both ways",
  description:
    "Newest first by `sort` (created_at or updated_at), ties broken by id. `meta.next_cursor` goes to older subscribers (`cursor`), `meta.prev_cursor` back to newer ones (`prev_cursor`); give one of them, never both (422), with the sort the cursor came from. Bounds are ISO 8601 date-times with an offset.",
  operationId: "listSubscribers",
  request: { query: z.strictObject({ status: SubscriberStatus.optional(), ...listQueryFields }) },
  responses: {
    200: ok("A page of subscribers", pageSchema(Subscriber, "SubscriberList")),
  },
});

const operation = keyedRoute("subscribers:read", {
  method: "get",
  path: "/v1/operations/{id}",
  tags: ["Subscribers"],
  summary: "Outcome of an accepted write",
  operationId: "getOperation",
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    200: ok("The operation", envelope(Operation, "OperationResult")),
    410: problems[410],
  },
});

export const subscriberRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const h = c.req.valid("header");
    const accepted = await createSubscriber(
      c.get("rt"),
      c.get("principal")!,
      c.req.valid("json"),
      h["idempotency-key"],
      localOperations(c),
    );
    const { result, headers, pendingHeaders } = await outcome(c, accepted, h.prefer);
    if (result.status === "created") {
      const { subscriber, operation: op } = result;
      return c.json({ data: subscriber, meta: { operation: op } }, 201, {
        ...headers,
        Location: `/v1/subscribers/${subscriber.id}`,
        ETag: etagOf(subscriber),
      });
    }
    // Applied, for a key that may not read subscribers: the finished operation, not the subscriber.
    if (result.status === "finished") return c.json({ data: result.operation, meta: {} }, 200, headers);
    return c.json({ data: result.operation, meta: {} }, 202, pendingHeaders);
  })
  .openapi(update, async (c) => {
    const h = c.req.valid("header");
    const accepted = await updateSubscriber(
      c.get("rt"),
      c.get("principal")!,
      c.req.valid("param").id_or_email,
      c.req.valid("json"),
      parseIfMatch(h["if-match"]),
      h["idempotency-key"],
      localOperations(c),
    );
    const { result, headers, pendingHeaders } = await outcome(c, accepted, h.prefer);
    if (result.status === "updated") {
      return c.json({ data: result.subscriber, meta: { operation: result.operation } }, 200, {
        ...headers,
        ETag: etagOf(result.subscriber),
      });
    }
    if (result.status === "finished") return c.json({ data: result.operation, meta: {} }, 200, headers);
    return c.json({ data: result.operation, meta: {} }, 202, pendingHeaders);
  })
  .openapi(remove, async (c) => {
    const h = c.req.valid("header");
    const ref = c.req.valid("param").id_or_email;
    const accepted = await deleteSubscriber(
      c.get("rt"),
      c.get("principal")!,
      ref,
      parseIfMatch(h["if-match"]),
      h["idempotency-key"],
      localOperations(c),
    );
    const { result, headers, pendingHeaders } = await outcome(c, accepted, h.prefer);
    if (result.status === "gone") return c.body(null, 204, headers);
    return c.json({ data: result.operation, meta: {} }, 202, pendingHeaders);
  })
  .openapi(forget, async (c) => {
    const h = c.req.valid("header");
    const accepted = await forgetSubscriber(
      c.get("rt"),
      c.get("principal")!,
      c.req.valid("param").id_or_email,
      h["idempotency-key"],
      localOperations(c),
    );
    const { result, headers, pendingHeaders } = await outcome(c, accepted, h.prefer);
    if (result.status === "gone") return c.body(null, 204, headers);
    return c.json({ data: result.operation, meta: {} }, 202, pendingHeaders);
  })
  .openapi(getOne, async (c) => {
    const { value, cache } = await getSubscriber(c.get("rt"), c.req.valid("param").id_or_email);
    c.set("cacheOutcome", cache);
    const etag = etagOf(value);
    if (ifNoneMatchHolds(c.req.valid("header")["if-none-match"], etag)) return c.body(null, 304, { ETag: etag });
    return c.json({ data: value, meta: {} }, 200, { ETag: etag });
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { value, cache } = await listSubscriberPage(c.get("rt"), q);
    c.set("cacheOutcome", cache);
    return c.json(listBody(c.req.url, q.limit, value), 200);
  })
  .openapi(operation, async (c) => {
    const id = c.req.valid("param").id.toLowerCase();
    const here = localOperations(c);
    const seen = (await here.seen(id))?.operation;
    if (seen?.id === id && seen.status !== "pending") return c.json({ data: seen, meta: {} }, 200);
    const op = await getOperation(c.get("rt"), id, seen);
    if (op.status !== "pending") here.keep({ operation: op });
    return c.json({ data: op, meta: {} }, 200);
  });
