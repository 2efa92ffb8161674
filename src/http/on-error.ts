import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config/index.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { errorMessage, log } from "../lib/log.ts";
import type { AppEnv } from "./context.ts";
import { AppError, problemBody } from "./errors.ts";

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    // Hono's own middleware (body limit, etc.) throws these; keep their status, use our shape.
    switch (err.status) {
      case 413:
        return new AppError("payload_too_large", "The request body is larger than this endpoint accepts.");
      case 415:
        return new AppError("unsupported_media_type", err.message || "Unsupported media type.");
      case 400:
        return new AppError("bad_request", err.message || "Malformed request.");
      default:
        if (err.status < 500) return new AppError("bad_request", err.message || "Bad request.");
    }
  }
  if (isDatabaseUnavailable(err)) {
    return new AppError("service_unavailable", "The database is unavailable; retry shortly.", { retryAfterSeconds: 5, cause: err });
  }
  if (err instanceof ConfigError) {
    return new AppError("service_unavailable", "The service is misconfigured.", { retryAfterSeconds: 60, cause: err });
  }
  return new AppError("internal", "An unexpected error occurred.", { cause: err });
}

export function problemResponse(c: Context<AppEnv>, err: AppError): Response {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const headers: Record<string, string> = {
    "Content-Type": "application/problem+json",
    "X-Request-Id": requestId,
    // A problem describes one request at one moment (and may name a caller's key or subscriber).
    "Cache-Control": "no-store",
    ...err.headers,
  };
  if (err.retryAfterSeconds !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  return new Response(JSON.stringify(problemBody(err, new URL(c.req.url).pathname, requestId)), {
    status: err.status,
    headers,
  });
}

/** The single place where anything thrown becomes an HTTP response. Internals never leak. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const appErr = toAppError(err);
  if (appErr.status >= 500 && appErr.status !== 503) {
    log("error", "unhandled_error", {
      request_id: c.get("requestId"),
      route: c.req.routePath,
      code: appErr.code,
      error: errorMessage(appErr.cause ?? err),
    });
  }
  if (appErr.status === 503) {
    log("warn", "dependency_unavailable", { request_id: c.get("requestId"), route: c.req.routePath, error: errorMessage(appErr.cause ?? err) });
  }
  return problemResponse(c, appErr);
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(c, new AppError("not_found", `No route matches ${c.req.method} ${new URL(c.req.url).pathname}.`));
