import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";

type Document = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

const DESCRIPTION = [
  "Errors are RFC 9457 `application/problem+json` with `request_id`; each response lists the problem members it may add.",
  "Authenticated routes are rate limited per API key, public routes per client IP; both send `RateLimit-*` headers and a 429 with `Retry-After`.",
  "A failing dependency answers 503 with `Retry-After`. Every response carries `X-Request-Id`.",
].join(" ");

/** The document's fixed parts; the paths and components come from the routes' own declarations. */
function documentConfig() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Edge API: subscribers and plans",
      version: "1.0.0",
      description: DESCRIPTION,
      license: { name: "UNLICENSED: proprietary, all rights reserved", identifier: "LicenseRef-Proprietary" },
    },
    // Every operation states its own security too (`[]` for the public ones); this is the default.
    security: [{ bearerAuth: [] }],
    tags: [
      { name: "Subscribers", description: "Subscribers, their queued writes and their operations" },
      { name: "Plans", description: "Plans from the provider, public and cacheable" },
      { name: "Webhooks", description: "Signed webhook endpoints for subscriber events" },
      { name: "Admin", description: "Operator routes: `admin` scope; 404 without a valid key" },
      { name: "Operations", description: "Liveness and readiness" },
    ],
  };
}

/** `if-match` → `If-Match`: one spelling for every header name the document shows. */
function canonicalHeaderName(name: string): string {
  const special: Record<string, string> = { etag: "ETag", "www-authenticate": "WWW-Authenticate" };
  return (
    special[name.toLowerCase()] ?? name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, ch: string) => dash + ch.toUpperCase())
  );
}

type Parameter = { in?: string; name?: string };

/**
 * Request headers are declared to the validator in lower case (Hono hands them over that way), so
 * the document is rewritten to the Canonical-Case that response headers use. HTTP header names are
 * case-insensitive: nothing a client may send changes.
 */
function canonicalHeaders(doc: Document): Document {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops ?? {})) {
      const params = (op as { parameters?: Parameter[] }).parameters;
      for (const p of params ?? []) if (p.in === "header" && p.name) p.name = canonicalHeaderName(p.name);
    }
  }
  return doc;
}

let built: Document | undefined;

/**
 * The OpenAPI document `/openapi.json` serves and `npm run lint` checks (scripts/openapi-export.ts).
 * Built once per isolate (it depends on nothing but the code); only `servers` names the origin asked.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>, origin: string): Document {
  built ??= canonicalHeaders(app.getOpenAPI31Document(documentConfig()));
  return { ...built, servers: [{ url: origin, description: "This deployment" }] };
}
