import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";

/**
 * Served from Workers Static Assets by the web routes (web/public/assets/vendor/, where
 * scripts/docs-assets.ts copies it on install).
 */
const DOCS_SCRIPT_PATH = "/assets/vendor/scalar.js";

/**
 * The browser may load nothing but this origin: the Scalar bundle otherwise reaches for web fonts,
 * telemetry and a request proxy on other hosts.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const page = Scalar<AppEnv>({
  url: "/openapi.json",
  cdn: DOCS_SCRIPT_PATH,
  pageTitle: "Edge API reference",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  // The "Ask AI" agent talks to Scalar's servers; this page talks to no one but this origin.
  agent: { disabled: true },
  defaultOpenAllTags: true,
  favicon: "data:,",
  showDeveloperTools: "never",
  authentication: { preferredSecurityScheme: "bearerAuth" },
});

export const docsPage: MiddlewareHandler<AppEnv> = async (c, next) => {
  const res = await page(c, next);
  // On the returned Response itself: c.header() here would only reach it if something had already
  // created c.res (Hono does not merge headers prepared before a handler returns its own Response).
  res?.headers.set("Content-Security-Policy", DOCS_CSP);
  res?.headers.set("Cache-Control", "public, max-age=300");
  return res;
};
