import { z } from "@hono/zod-openapi";
import { EMAIL_PATTERN, MAX_WAIT_SECONDS, Operation, Subscriber } from "../../subscribers/index.ts";
import { responseHeaders } from "../openapi-headers.ts";
import { empty, envelope, jsonBodyProblems, noBodyProblem, ok, problems } from "../openapi-schemas.ts";

/**
 * The subscriber routes' shared declarations: parameters, envelopes and response sets, for
 * src/http/routes/subscribers.ts and any other route that answers with a subscriber or an operation.
 * Only what a route adds to keyedRoute's own answers (the key's problems, 404 and 422).
 */

export const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .optional()
  .meta({ description: "Replays the first response to the same request for 24 h; reused with a different request it is a 422." });

export const prefer = z
  .string()
  .max(200)
  .optional()
  .meta({
    description: `\`wait=N\` (RFC 7240): wait up to N seconds (at most ${MAX_WAIT_SECONDS}) for the outcome and answer it directly; 202 if it is not there by then.`,
  });

/**
 * RFC 9110 If-Match: "*" or a list of entity-tags (a weak one never matches: 412). Documented as a
 * pattern only: src/subscribers/accept.ts parseIfMatch decides, with its own 422 naming the header.
 */
export const ifMatch = z.string().max(100).optional().meta({
  description: 'The ETag of a read ("3"), or "*": the change applies only to that version. 412 when it no longer holds.',
  pattern: '^\\s*(\\*|(W/)?"[\\x21\\x23-\\x7e]*"(\\s*,\\s*(W/)?"[\\x21\\x23-\\x7e]*")*)\\s*$',
});

/**
 * What src/subscribers/service.ts parseSubscriberRef accepts: a UUID, or an address under the one
 * email rule (src/subscribers/email.ts). Documented as a pattern only: that function decides, with its own 422.
 */
const ID_OR_EMAIL = `^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|${EMAIL_PATTERN.slice(1, -1)})$`;
export const subscriberRef = z.object({
  id_or_email: z
    .string()
    .min(1)
    .max(254)
    .meta({ description: "A subscriber id (UUID) or email address", example: "jane@example.com", pattern: ID_OR_EMAIL }),
});

const SubscriberEnvelope = envelope(Subscriber, "SubscriberEnvelope");
const OperationEnvelope = envelope(Operation, "OperationEnvelope");

const subscriberHeaders = { ...responseHeaders.write, ...responseHeaders.etag };

/** 202: the write is queued; follow `Location` to its operation. */
// Typed as any Operation: its status is `pending`, or `succeeded` when the change applied and a later
// one already removed the subscriber (src/subscribers/service.ts writeResult); never failed or superseded.
const accepted = ok("Accepted: the operation is pending (or `Prefer: wait` ran out)", OperationEnvelope, {
  ...responseHeaders.write,
  ...responseHeaders.location,
});

/** Under `Prefer: wait`, a finished operation for a key without `subscribers:read` (it sees no subscriber). */
const finishedOperation = (what: string) =>
  ok(
    `${what} (only under \`Prefer: wait\`): the finished operation, for a key without subscribers:read`,
    OperationEnvelope,
    responseHeaders.write,
  );

export const createResponses = {
  201: ok("Created (only under `Prefer: wait`, for a key with subscribers:read)", SubscriberEnvelope, {
    ...subscriberHeaders,
    ...responseHeaders.location,
  }),
  200: finishedOperation("Created"),
  202: accepted,
  ...jsonBodyProblems,
  409: problems[409],
  410: problems[410],
} as const;

export const updateResponses = {
  200: ok(
    "Applied (only under `Prefer: wait`): the subscriber with its `ETag` for a key with subscribers:read, else the finished operation",
    z.union([SubscriberEnvelope, OperationEnvelope]),
    { ...responseHeaders.write, ...responseHeaders.optionalEtag },
  ),
  202: accepted,
  ...jsonBodyProblems,
  409: problems[409],
  410: problems[410],
  412: problems[412],
} as const;

export const deleteResponses = {
  204: empty("Deleted (only under `Prefer: wait`)", responseHeaders.write),
  202: accepted,
  ...noBodyProblem,
  409: problems[409],
  410: problems[410],
  412: problems[412],
} as const;

export const forgetResponses = {
  204: empty("Erased (only under `Prefer: wait`)", responseHeaders.write),
  202: accepted,
  ...noBodyProblem,
  410: problems[410],
} as const;

/** A read of one subscriber (by id or email in the path, or by email in a body). */
export const readResponses = {
  200: ok("The subscriber; `ETag` is its version", SubscriberEnvelope, responseHeaders.etag),
  304: empty("Not modified: If-None-Match holds the current ETag", responseHeaders.etag),
} as const;
