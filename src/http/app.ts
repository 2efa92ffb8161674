import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { secureHeaders } from "hono/secure-headers";
import { timing } from "hono/timing";
import { DomainError } from "../lib/errors.ts";
import type { Runtime } from "../runtime.ts";
import type { AppEnv } from "./context.ts";
import { dedupeVary, varyOn } from "./edge-cache.ts";
import { limitBody } from "./middleware/json-body.ts";
import { ipRateLimit } from "./middleware/rate-limit.ts";
import { requestContext } from "./middleware/request-context.ts";
import { notFound, onError, problemResponse } from "./on-error.ts";
import { openApiDocument } from "./openapi-document.ts";
import { adminDeadLetterRoutes } from "./routes/admin-dead-letters.ts";
import { adminPlanRoutes } from "./routes/admin-plans.ts";
import { adminStatusRoutes } from "./routes/admin-status.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { docsPage } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { planRoutes, searchRateLimited } from "./routes/plans.ts";
import { statsRoutes } from "./routes/stats.ts";
import { subscriberLookupRoutes } from "./routes/subscriber-lookup.ts";
import { subscriberRoutes } from "./routes/subscribers.ts";
import { webRoutes } from "./routes/web.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

export const OPENAPI_PATH = "/openapi.json";

/**
 * Routes anyone may call without a key; each is rate limited per client IP instead. `/search` is
 * limited too, separately, so that its 429 keeps the Fever envelope.
 */
// Hono's "/v1/plans/*" matches "/v1/plans" itself too.
const PUBLIC_PATHS = ["/health", "/ready", OPENAPI_PATH, "/docs", "/v1/plans/*", "/", "/assets/*"] as const;

// If-None-Match and ETag: a page's script may revalidate plan reads itself (src/http/edge-cache.ts).
const CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "If-None-Match"];
const CORS_EXPOSE_HEADERS = [
  "X-Request-Id",
  "ETag",
  "Location",
  "Retry-After",
  "Idempotent-Replayed",
  "Server-Timing",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "RateLimit-Policy",
];

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // Every zod validation failure takes the same path as any other error: a 422 problem naming
    // each failing field.
    defaultHook: (result) => {
      if (!result.success) {
        throw new DomainError("validation_failed", "The request has invalid fields.", {
          fields: result.error.issues.map((i) => ({
            // Body fields are named as sent ("email"); other inputs by where they came from.
            field: result.target === "json" ? i.path.join(".") || "body" : [result.target, ...i.path].join("."),
            message: i.message,
          })),
        });
      }
    },
  });

  // The fixed order, outermost first: request id + the one log line + metrics, secure headers, CORS,
  // body limit, Server-Timing. Auth, per-key and per-IP limits belong to each route.
  app.use("*", requestContext());
  // Hono's defaults minus headers only obsolete browsers read (IE8's X-Download-Options, Flash's
  // X-Permitted-Cross-Domain-Policies, the retired XSS auditor's X-XSS-Protection, X-DNS-Prefetch-Control)
  // and Origin-Agent-Cluster, which only matters to documents: each header is two calls into the
  // runtime on every response (docs/benchmarks.md, "Profiles").
  app.use(
    "*",
    secureHeaders({
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xDnsPrefetchControl: false,
      originAgentCluster: false,
    }),
  );
  const corsHeaders = cors({
    origin: (origin, c) => {
      const rt: Runtime = c.get("rt");
      const allowed = rt.config.corsOrigins;
      if (allowed === "*") return "*";
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
  // Only browsers send Origin, and only their requests need CORS headers. Servers, CLIs and load
  // generators skip the middleware: Hono's cors touches c.res before the handler and appends Vary
  // after it, three extra Response copies per request.
  // Vary: Origin still goes out, so a shared cache never hands a CORS-less answer to a browser.
  // The cacheable plan reads name Origin in Vary themselves, with or without one (src/http/edge-cache.ts).
  app.use("*", async (c, next) => {
    if (c.req.header("origin") !== undefined) {
      const preflight = await corsHeaders(c, next);
      if (preflight) return preflight;
      dedupeVary(c.res.headers);
      return;
    }
    await next();
    if (c.get("rt").config.corsOrigins !== "*") varyOn(c.res.headers, "Origin");
  });
  app.use("*", (c, next) => limitBody(c.get("rt").config.maxBodyBytes)(c, next));
  // `total` here; request-context appends the cache outcome (`cache;desc="hit"`).
  app.use("*", timing({ crossOrigin: true }));
  for (const path of PUBLIC_PATHS) app.use(path, ipRateLimit());
  app.use("/search", ipRateLimit({ onLimited: searchRateLimited }));

  app.onError(onError);

  const routed = app
    .route("/", healthRoutes)
    .route("/", subscriberLookupRoutes)
    .route("/", subscriberRoutes)
    .route("/", statsRoutes)
    .route("/", planRoutes)
    .route("/", adminPlanRoutes)
    .route("/", adminDeadLetterRoutes)
    .route("/", adminStatusRoutes)
    .route("/", apiKeyRoutes)
    .route("/", webhookRoutes)
    .route("/", webRoutes);

  routed.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `Authorization: Bearer sk_live_…`. Keys carry scopes; see each operation.",
  });
  routed.get(OPENAPI_PATH, (c) => c.json(openApiDocument(routed, new URL(c.req.url).origin)));
  routed.get("/docs", docsPage);

  routed.notFound(notFound);
  // A known path with the wrong method is 405 with Allow, not 404. Admin paths stay hidden: a wrong
  // method there is the same 404 as a path that does not exist.
  routed.use(
    "*",
    methodNotAllowed({
      app: routed,
      onMethodNotAllowed: (c, methods) => {
        const path = new URL(c.req.url).pathname;
        if (path.startsWith("/v1/admin/")) return c.res;
        const allowed = [...methods].sort();
        return problemResponse(
          c,
          new DomainError("method_not_allowed", `${c.req.method} is not allowed on ${path}; use ${allowed.join(", ")}.`, {
            allowedMethods: allowed,
          }),
        );
      },
    }),
  );
  return routed;
}

export type App = ReturnType<typeof createApp>;
