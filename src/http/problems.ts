import type { DomainError, ErrorCode, FieldError } from "../lib/errors.ts";
import type { RateDecision } from "../ratelimit/types.ts";

/** The one map from domain error codes to HTTP: status, the problem's type and title. */
const problems: Record<ErrorCode, { status: number; type: string; title: string }> = {
  bad_request: { status: 400, type: "bad_request", title: "Bad request" },
  missing_credentials: { status: 401, type: "unauthorized", title: "Unauthorized" },
  invalid_credentials: { status: 401, type: "unauthorized", title: "Unauthorized" },
  forbidden: { status: 403, type: "forbidden", title: "Forbidden" },
  not_found: { status: 404, type: "not_found", title: "Not found" },
  method_not_allowed: { status: 405, type: "method_not_allowed", title: "Method not allowed" },
  conflict: { status: 409, type: "conflict", title: "Conflict" },
  precondition_failed: { status: 412, type: "precondition_failed", title: "Precondition failed" },
  gone: { status: 410, type: "gone", title: "Gone" },
  payload_too_large: { status: 413, type: "payload_too_large", title: "Payload too large" },
  unsupported_media_type: { status: 415, type: "unsupported_media_type", title: "Unsupported media type" },
  validation_failed: { status: 422, type: "validation_failed", title: "Validation failed" },
  rate_limited: { status: 429, type: "rate_limited", title: "Too many requests" },
  internal: { status: 500, type: "internal", title: "Internal server error" },
  provider_failed: { status: 502, type: "bad_gateway", title: "Bad gateway" },
  unavailable: { status: 503, type: "service_unavailable", title: "Service unavailable" },
};

export const statusOf = (code: ErrorCode): number => problems[code].status;

/** Both header styles: the widely used RateLimit-* trio and the IETF draft's RateLimit-Policy. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = { "RateLimit-Limit": String(d.limit) };
  // A counter that does not say what is left (the rate limiting binding) sends no guess.
  if (d.remaining !== undefined) headers["RateLimit-Remaining"] = String(d.remaining);
  if (d.resetSeconds !== undefined) headers["RateLimit-Reset"] = String(d.resetSeconds);
  headers["RateLimit-Policy"] = `${d.limit};w=${d.periodSeconds}`;
  return headers;
}

/** Headers an error implies: the Bearer challenge (RFC 6750), Allow, Retry-After, RateLimit-*. */
export function problemHeaders(err: DomainError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.code === "missing_credentials") headers["WWW-Authenticate"] = 'Bearer realm="edge-api"';
  if (err.code === "invalid_credentials") headers["WWW-Authenticate"] = 'Bearer realm="edge-api", error="invalid_token"';
  if (err.allowedMethods) headers.Allow = err.allowedMethods.join(", ");
  if (err.retryAfterSeconds !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  if (err.rateLimit) Object.assign(headers, rateLimitHeaders(err.rateLimit));
  return headers;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemBody(err: DomainError, instance: string, requestId: string): ProblemBody {
  const p = problems[err.code];
  return {
    ...err.extra,
    type: `/problems/${p.type}`,
    title: p.title,
    status: p.status,
    detail: err.message,
    instance,
    request_id: requestId,
    ...(err.fields ? { errors: err.fields } : {}),
  };
}
