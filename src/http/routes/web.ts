import type { Context } from "hono";
import { Hono } from "hono";
import { DomainError } from "../../lib/errors.ts";
import type { AppEnv } from "../context.ts";

// The page needs nothing beyond its own origin: no inline script or style, no CDN, fetch only to
// this Worker. Stated here so the page is locked down even where no gateway header applies.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The subscriber page (`/`) and the operator's status page (`/status`, web/public/status.html through
 * the asset server's html handling) from Workers Static Assets (web/public). Only these two and
 * `/assets/*` reach the asset store, so nothing else in the directory becomes a URL by accident, and a
 * missing file is the API's own 404 problem rather than the asset server's empty one.
 */
async function serveAsset(c: Context<AppEnv>): Promise<Response> {
  const res = await c.env.ASSETS.fetch(c.req.raw);
  if (res.status === 404) throw new DomainError("not_found", `No file at ${new URL(c.req.url).pathname}.`);
  // Asset responses have immutable headers; copy before adding ours.
  const out = new Response(res.body, res);
  if (out.headers.get("content-type")?.startsWith("text/html")) {
    out.headers.set("Content-Security-Policy", PAGE_CSP);
    out.headers.set("Referrer-Policy", "no-referrer");
  }
  out.headers.set("X-Content-Type-Options", "nosniff");
  return out;
}

export const webRoutes = new Hono<AppEnv>().get("/", serveAsset).get("/status", serveAsset).get("/assets/*", serveAsset);
