import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { listBody, pageSchema } from "../../lib/pagination.ts";
import type { Accepted } from "../../subscribers/index.ts";
import {
  awaitOperation,
  createSubscriber,
  deleteSubscriber,
  etagOf,
  forgetSubscriber,
  getOperation,
  getSubscriber,
  listQueryFields,
  listSubscriberPage,
  MAX_WAIT_SECONDS,
  Operation,
  parseIfMatch,
  Subscriber,
  SubscriberInput,
  SubscriberPatch,
  SubscriberStatus,
  updateSubscriber,
  writeResult,
} from "../../subscribers/index.ts";
import type { AppEnv } from "../context.ts";
import { ifNoneMatchHolds } from "../edge-cache.ts";
import { keyedRoute } from "../keyed-route.ts";
import { jsonBody, noBody } from "../middleware/json-body.ts";
import { envelope, ok, problems } from "../openapi-schemas.ts";
import { cachedOperation, keepOperation } from "../operation-cache.ts";
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

/** RFC 7240 `wait`: the largest of the preferences' wait values, at most MAX_WAIT_SECONDS; 0 without one. */
function preferredWait(header: string | undefined): number {
  const m = header ? /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header) : null;
  return m ? Math.min(Number(m[1]), MAX_WAIT_SECONDS) : 0;
}

/**
 * Every write answers the same way: 202 with the pending operation, or, under `Prefer: wait`, its
 * final result: the subscriber it created or changed, nothing for a delete or an erasure, or its
 * problem (thrown, as the one DomainError). Each route turns the result into its documented statuses.
 */
async function outcome(c: Context<AppEnv>, { operation, replayed }: Accepted, preferHeader: string | undefined) {
  const wait = preferredWait(preferHeader);
  const headers: Record<string, string> = {};
  if (replayed) headers["Idempotent-Replayed"] = "true";
  if (wait > 0) {
    headers["Preference-Applied"] = `wait=${wait}`;
    headers.Vary = "Prefer";
  }
  const rt = c.get("rt");
  const latest = wait > 0 ? await awaitOperation(rt, operation, wait) : operation;
  // This location's view of what it accepted, for GET /v1/operations/{id} before the consumer has run.
  if (!replayed || latest.status !== "pending") keepOperation(c, latest);
  const result = await writeResult(rt, c.get("principal")!, latest);
  const pendingHeaders = { ...headers, Location: `/v1/operations/${result.operation.id}` };
  return { result, headers, pendingHeaders };
}

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
    const accepted = await createSubscriber(c.get("rt"), c.get("principal")!, c.req.valid("json"), h["idempotency-key"]);
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
    const accepted = await deleteSubscriber(c.get("rt"), c.get("principal")!, ref, parseIfMatch(h["if-match"]), h["idempotency-key"]);
    const { result, headers, pendingHeaders } = await outcome(c, accepted, h.prefer);
    if (result.status === "gone") return c.body(null, 204, headers);
    return c.json({ data: result.operation, meta: {} }, 202, pendingHeaders);
  })
  .openapi(forget, async (c) => {
    const h = c.req.valid("header");
    const accepted = await forgetSubscriber(c.get("rt"), c.get("principal")!, c.req.valid("param").id_or_email, h["idempotency-key"]);
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
    const id = c.req.valid("param").id;
    const seen = await cachedOperation(c, id);
    if (seen && seen.status !== "pending") return c.json({ data: seen, meta: {} }, 200);
    const op = await getOperation(c.get("rt"), id, seen);
    if (op.status !== "pending") keepOperation(c, op);
    return c.json({ data: op, meta: {} }, 200);
  });
