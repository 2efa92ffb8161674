/**
 * The response headers the service sends, declared once for every route's responses. `required`
 * means the header is on every such response; optional ones depend on the request or on a
 * dependency (the rate limiter answering, an `Origin`, a `Prefer`). Names are Canonical-Case.
 */
interface HeaderObject {
  description: string;
  required: boolean;
  schema: Record<string, unknown>;
  // OpenAPI's specification extensions (none used): the declared type of a header object has them.
  [extension: `x-${string}`]: unknown;
}
export type Headers = Record<string, HeaderObject>;

const header = (description: string, schema: Record<string, unknown>, required = true): HeaderObject => ({
  description,
  required,
  schema,
});
const optional = (h: HeaderObject): HeaderObject => ({ ...h, required: false });

const ENTITY_TAG = '^(W/)?"[\\x21\\x23-\\x7e]*"$';

const H = {
  requestId: header("The request id: an incoming well-formed `X-Request-Id`, or a new UUID. Also in every problem.", {
    type: "string",
    pattern: "^[A-Za-z0-9._:-]{1,128}$",
  }),
  limit: header("Requests allowed per window for this key or client address", { type: "integer", minimum: 0 }),
  remaining: header("Requests left in the current window", { type: "integer", minimum: 0 }),
  reset: header("Seconds until the window resets", { type: "integer", minimum: 0 }),
  policy: header("The policy: `limit;w=window_seconds` (IETF draft)", { type: "string", pattern: "^\\d+;w=\\d+$" }),
  retryAfter: header("Seconds to wait before retrying", { type: "integer", minimum: 1 }),
  challenge: header("RFC 6750 Bearer challenge", { type: "string", pattern: "^Bearer " }),
  location: header("Where the resource (or the operation) can be read", { type: "string", format: "uri-reference" }),
  etag: header("Strong validator of this representation", { type: "string", pattern: ENTITY_TAG }),
  noStore: header("Authenticated answers and problems are never stored by any cache", { type: "string", const: "no-store" }),
  vary: header("Request headers that select this representation", { type: "string" }),
  preferenceApplied: header("RFC 7240: the `wait` the answer honoured", { type: "string", pattern: "^wait=\\d+$" }),
  replayed: header("This is the stored answer to an earlier request with the same `Idempotency-Key`", {
    type: "string",
    const: "true",
  }),
};

/** On every response. `Vary: Origin` is added when CORS is limited to some origins (CORS_ORIGINS). */
const base: Headers = { "X-Request-Id": H.requestId, Vary: optional(H.vary) };

/**
 * What is left of the limit. A public route's allowed answer has no Remaining or Reset: the rate
 * limiting binding that counts per client IP says only whether a request fits.
 */
const rateLimitInfo: Headers = {
  "RateLimit-Limit": optional(H.limit),
  "RateLimit-Remaining": optional(H.remaining),
  "RateLimit-Reset": optional(H.reset),
  "RateLimit-Policy": optional(H.policy),
};

export const responseHeaders = {
  /** Problems: never cached; what else they carry is added per status. */
  problem: { ...base, "Cache-Control": H.noStore } satisfies Headers,
  rateLimited: {
    ...base,
    "Cache-Control": H.noStore,
    "Retry-After": H.retryAfter,
    "RateLimit-Limit": H.limit,
    "RateLimit-Remaining": H.remaining,
    "RateLimit-Reset": H.reset,
    "RateLimit-Policy": H.policy,
  } satisfies Headers,
  /** A public route's 429 (the rate limiting binding, per client IP). */
  shieldLimited: { ...base, "Cache-Control": H.noStore, "Retry-After": H.retryAfter, ...rateLimitInfo } satisfies Headers,
  unavailable: { ...base, "Cache-Control": H.noStore, "Retry-After": H.retryAfter } satisfies Headers,
  unauthorized: { ...base, "Cache-Control": H.noStore, "WWW-Authenticate": H.challenge } satisfies Headers,
  /** A successful answer behind an API key. */
  keyed: { ...base, "Cache-Control": H.noStore, ...rateLimitInfo } satisfies Headers,
  /** A successful answer on a public route (no key): limited per client address. */
  public: { ...base, ...rateLimitInfo } satisfies Headers,
  /** The public cacheable plan reads: their validator, caching policy and Vary, on the 200 and the 304. */
  cacheable: {
    ...base,
    ...rateLimitInfo,
    ETag: H.etag,
    "Cache-Control": header("Caching policy for clients and shared caches", { type: "string", pattern: "^public, " }),
    Vary: header("Always `Origin`: a shared cache keeps browsers' CORS answers apart", { type: "string", pattern: "(^|, *)Origin(,|$)" }),
  } satisfies Headers,
  location: { Location: H.location } satisfies Headers,
  noStore: { "Cache-Control": H.noStore } satisfies Headers,
  etag: { ETag: H.etag } satisfies Headers,
  optionalEtag: { ETag: optional(H.etag) } satisfies Headers,
  /** Subscriber writes: `Prefer: wait` (and then `Vary: Prefer`) and idempotent replays. */
  write: {
    "Preference-Applied": optional(H.preferenceApplied),
    "Idempotent-Replayed": optional(H.replayed),
  } satisfies Headers,
};
