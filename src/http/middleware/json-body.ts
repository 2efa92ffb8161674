import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context.ts";
import { AppError } from "../errors.ts";

/** 415 unless the body is JSON, 413 above maxBytes (checked while streaming, not just by header). */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv>[] {
  return [
    async (c, next) => {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
        throw new AppError("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.");
      }
      await next();
    },
    bodyLimit({
      maxSize: maxBytes,
      onError: () => {
        throw new AppError("payload_too_large", `The request body is larger than ${maxBytes} bytes.`);
      },
    }),
  ];
}
