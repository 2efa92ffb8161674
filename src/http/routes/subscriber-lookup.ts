import { OpenAPIHono, z } from "@hono/zod-openapi";
import { EmailAddress, etagOf, getSubscriber, Subscriber } from "../../subscribers/index.ts";
import type { AppEnv } from "../context.ts";
import { ifNoneMatchHolds } from "../edge-cache.ts";
import { keyedRoute } from "../keyed-route.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { envelope, Problem, problems } from "../openapi-schemas.ts";

/**
 * A read by email with the address in the body, not the URL. URLs are written down in many places
 * the API does not control: access logs of every proxy and of wrangler dev, the runtime's own
 * invocation records and traces (`url.full`), browser history, Referer headers. A body is not. The
 * answer is exactly GET /v1/subscribers/{email}'s, so clients can switch without other changes.
 */

/** The one email rule (src/subscribers/email.ts): an address no subscriber can have is a 422, as on GET. */
const LookupEmail = EmailAddress.meta({ description: "The address, matched case-insensitively", example: "jane@example.com" });

const LookupRequest = z.strictObject({ email: LookupEmail }).meta({ id: "SubscriberLookup" });

const lookup = keyedRoute("subscribers:read", {
  method: "post",
  path: "/v1/subscribers/lookup",
  operationId: "lookupSubscriber",
  tags: ["Subscribers"],
  summary: "Read a subscriber by email, with the address in the body",
  description:
    "Answers exactly what `GET /v1/subscribers/{email}` answers, but keeps the email out of the URL, which proxies, access logs and traces record. Prefer it for reads by email.",
  middleware: jsonBody(),
  request: {
    headers: z.object({ "if-none-match": z.string().max(200).optional() }),
    body: { required: true, content: { "application/json": { schema: LookupRequest } } },
  },
  responses: {
    200: {
      description: "The subscriber; `ETag` is its version",
      headers: z.object({
        ETag: z.string().meta({ description: 'The subscriber\'s version, quoted ("3")' }),
        "Cache-Control": z.string().meta({ example: "no-store" }),
      }),
      content: { "application/json": { schema: envelope(Subscriber, "SubscriberEnvelope") } },
    },
    304: {
      description: "Not modified: If-None-Match holds the current ETag; no body",
      headers: z.object({ ETag: z.string() }),
    },
    400: problems[400],
    404: problems[404],
    413: problems[413],
    415: problems[415],
    500: { description: "Unexpected error", content: { "application/problem+json": { schema: Problem } } },
  },
});

export const subscriberLookupRoutes = new OpenAPIHono<AppEnv>().openapi(lookup, async (c) => {
  const { value, cache } = await getSubscriber(c.get("rt"), c.req.valid("json").email);
  c.set("cacheOutcome", cache);
  const etag = etagOf(value);
  if (ifNoneMatchHolds(c.req.valid("header")["if-none-match"], etag)) return c.body(null, 304, { ETag: etag });
  return c.json({ data: value, meta: {} }, 200, { ETag: etag });
});
