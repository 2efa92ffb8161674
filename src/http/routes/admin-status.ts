import { OpenAPIHono, z } from "@hono/zod-openapi";
import { getStatus, OPENMETRICS_CONTENT_TYPE, renderMetrics, Status, StatusWindow } from "../../status/index.ts";
import type { AppEnv } from "../context.ts";
import { adminRoute } from "../keyed-route.ts";
import { envelope, ok } from "../openapi-schemas.ts";

/**
 * Prometheus' text format, for clients that do not ask for OpenMetrics: the same lines, whose
 * `# UNIT` and `# EOF` are comments to a 0.0.4 parser; generic HTTP clients read it as text.
 */
const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

const status = adminRoute({
  method: "get",
  path: "/v1/admin/status",
  tags: ["Admin"],
  summary: "The operator's status document: writes, requests, plans, subscribers and webhooks over a window",
  description:
    "What the /status page draws. Series have one value per step (a minute for `hour`, 15 minutes for `day`, an hour for `week`); rates are per minute averaged over the step, and the last step is still running. Request series come from Analytics Engine where its SQL API is configured (sampled successes weighted back, every 4xx and 5xx), else from the per-isolate rollups, flushed once a minute.",
  operationId: "getStatus",
  request: { query: z.strictObject({ window: StatusWindow.default("hour") }) },
  responses: { 200: ok("The status document", envelope(Status, "StatusEnvelope")) },
});

const metrics = adminRoute({
  method: "get",
  path: "/v1/admin/metrics",
  tags: ["Admin"],
  summary: "Metrics in the OpenMetrics text format, for Prometheus",
  description:
    "Gauges and counters computed from Postgres at scrape time (write lag over the last 5 minutes, dead letters, operation outcomes, plan sync age and outcomes, the provider breaker, subscribers, webhooks) and request-duration histograms per route group from the request rollups. Scrape with an admin key as a bearer token.",
  operationId: "getMetrics",
  responses: {
    200: {
      ...ok(
        "The metrics: OpenMetrics text ending with `# EOF` when Accept names it (as Prometheus does), else the same lines as Prometheus text",
        z.string(),
      ),
      content: { [PROMETHEUS_TEXT]: { schema: z.string() }, [OPENMETRICS_CONTENT_TYPE]: { schema: z.string() } },
    },
  },
});

export const adminStatusRoutes = new OpenAPIHono<AppEnv>()
  .openapi(status, async (c) => c.json({ data: await getStatus(c.get("rt"), c.req.valid("query").window), meta: {} }, 200))
  .openapi(metrics, async (c) => {
    const type = /application\/openmetrics-text/i.test(c.req.header("accept") ?? "") ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT;
    return c.body(await renderMetrics(c.get("rt")), 200, { "Content-Type": type });
  });
