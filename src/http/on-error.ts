import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config/index.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { DomainError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { createLogger, errorMessage } from "../lib/log.ts";
import type { AppEnv } from "./context.ts";
import { problemBody, problemHeaders, statusOf } from "./problems.ts";

function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof HTTPException) {
    // Hono's own middleware (body limit, etc.) throws these; keep their status, use our shape.
    switch (err.status) {
      case 413:
        return new DomainError("payload_too_large", "The request body is larger than this endpoint accepts.");
      case 415:
        return new DomainError("unsupported_media_type", err.message || "Unsupported media type.");
      case 400:
        return new DomainError("bad_request", err.message || "Malformed request.");
      default:
        if (err.status < 500) return new DomainError("bad_request", err.message || "Bad request.");
    }
  }
  if (isDatabaseUnavailable(err)) {
    return new DomainError("unavailable", "The database is unavailable; retry shortly.", { retryAfterSeconds: 5, cause: err });
  }
  if (err instanceof ConfigError) {
    return new DomainError("unavailable", "The service is misconfigured.", { retryAfterSeconds: 60, cause: err });
  }
  return new DomainError("internal", "An unexpected error occurred.", { cause: err });
}

export function problemResponse(c: Context<AppEnv>, err: DomainError): Response {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const headers: Record<string, string> = {
    "Content-Type": "application/problem+json",
    "X-Request-Id": requestId,
    // A problem describes one request at one moment (and may name a caller's key or subscriber).
    "Cache-Control": "no-store",
    ...problemHeaders(err),
  };
  return new Response(JSON.stringify(problemBody(err, new URL(c.req.url).pathname, requestId)), { status: statusOf(err.code), headers });
}

/** The request's logger; a default one when the error came before the runtime existed (a bad config). */
function logOf(c: Context<AppEnv>): Logger {
  return c.get("rt")?.log ?? createLogger("info", { request_id: c.get("requestId") });
}

/** The single place where anything thrown becomes an HTTP response. Internals never leak. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const domainErr = toDomainError(err);
  const status = statusOf(domainErr.code);
  if (status >= 500) {
    logOf(c)[status === 503 ? "warn" : "error"](status === 503 ? "dependency_unavailable" : "unhandled_error", {
      route: c.req.routePath,
      code: domainErr.code,
      error: errorMessage(domainErr.cause ?? err),
    });
  }
  return problemResponse(c, domainErr);
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(c, new DomainError("not_found", `No route matches ${c.req.method} ${new URL(c.req.url).pathname}.`));
