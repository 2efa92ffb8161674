import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DomainError } from "../../lib/errors.ts";
import type { AppEnv } from "../context.ts";

/**
 * `application/json`, with no parameter but `charset=utf-8` (RFC 8259 §8.1: JSON between systems is
 * UTF-8). Other `+json` types are other formats with their own rules, and another charset would be
 * read as if it were UTF-8: both are refused rather than guessed at.
 */
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    throw new DomainError("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json` (charset utf-8 only).");
  }
  await next();
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads the body as strict UTF-8: a byte sequence that is not UTF-8 is a 400, never a U+FFFD stored
 * in its place. The validator's JSON parse then reads the same bytes.
 */
const strictUtf8: MiddlewareHandler<AppEnv> = async (c, next) => {
  const bytes = await c.req.raw.arrayBuffer();
  try {
    utf8.decode(bytes);
  } catch {
    throw new DomainError("bad_request", "The body is not valid UTF-8.");
  }
  // The checked bytes, as hono/body-limit hands on a body it has read.
  c.req.raw = new Request(c.req.raw, { body: bytes });
  await next();
};

/**
 * 415 unless the body is JSON, 400 unless it is UTF-8. Every body is already limited to
 * MAX_BODY_BYTES by the app; `maxBytes` is only for a route that accepts less (checked while
 * streaming, not just by header).
 */
export function jsonBody(maxBytes?: number): MiddlewareHandler<AppEnv>[] {
  return maxBytes === undefined ? [requireJson, strictUtf8] : [requireJson, limitBody(maxBytes), strictUtf8];
}

/**
 * For routes that take no body (DELETE, `…/forget`, the body-less POSTs): a body is refused with the
 * same 413 as a body over a route's limit, whose limit here is 0 bytes, rather than ignored.
 */
export const noBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const body = c.req.raw.body;
  if (body !== null && (await c.req.raw.arrayBuffer()).byteLength > 0) {
    throw new DomainError("payload_too_large", "This route takes no request body.");
  }
  await next();
};

/** 413 above `maxBytes`, counted while the body streams in, not just from Content-Length. */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new DomainError("payload_too_large", `The request body is larger than ${maxBytes} bytes.`);
    },
  });
}
