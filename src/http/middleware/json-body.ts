import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DomainError } from "../../lib/errors.ts";
import type { AppEnv } from "../context.ts";

const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new DomainError("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.");
  }
  await next();
};

/**
 * 415 unless the body is JSON. Every body is already limited to MAX_BODY_BYTES by the app; `maxBytes`
 * is only for a route that accepts less (checked while streaming, not just by header).
 */
export function jsonBody(maxBytes?: number): MiddlewareHandler<AppEnv>[] {
  return maxBytes === undefined ? [requireJson] : [requireJson, limitBody(maxBytes)];
}

/** 413 above `maxBytes`, counted while the body streams in, not just from Content-Length. */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new DomainError("payload_too_large", `The request body is larger than ${maxBytes} bytes.`);
    },
  });
}
