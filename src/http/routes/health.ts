import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { checkReadiness } from "../../ops/index.ts";
import type { AppEnv } from "../context.ts";
import { responseHeaders } from "../openapi-headers.ts";
import { Problem, publicOk, publicProblems } from "../openapi-schemas.ts";

const Check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() }).passthrough().openapi("ReadinessCheck");

const ReadinessBody = z.object({ status: z.enum(["ready", "not_ready"]), checks: z.record(z.string(), Check) }).openapi("Readiness");

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness: the Worker runs",
  operationId: "getHealth",
  security: [],
  responses: {
    200: publicOk("Alive", z.object({ status: z.literal("ok") }), responseHeaders.noStore),
    ...publicProblems,
  },
});

const ready = createRoute({
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  summary: "Readiness: Postgres, cache and queue are usable",
  operationId: "getReadiness",
  security: [],
  responses: {
    200: publicOk("Every dependency answers", ReadinessBody, responseHeaders.noStore),
    ...publicProblems,
    503: {
      description: "At least one dependency fails (its checks), or the service is misconfigured (a problem); Retry-After",
      headers: responseHeaders.unavailable,
      content: { "application/json": { schema: ReadinessBody }, "application/problem+json": { schema: Problem } },
    },
  },
});

export const healthRoutes = new OpenAPIHono<AppEnv>()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200, { "Cache-Control": "no-store" }))
  .openapi(ready, async (c) => {
    const result = await checkReadiness(c.get("rt"));
    const headers = { "Cache-Control": "no-store" };
    return result.status === "ready" ? c.json(result, 200, headers) : c.json(result, 503, { ...headers, "Retry-After": "5" });
  });
