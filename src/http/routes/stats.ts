import { OpenAPIHono } from "@hono/zod-openapi";
import { getStats, Stats } from "../../stats/index.ts";
import type { AppEnv } from "../context.ts";
import { keyedRoute } from "../keyed-route.ts";
import { envelope, ok } from "../openapi-schemas.ts";

const stats = keyedRoute("subscribers:read", {
  method: "get",
  path: "/v1/stats",
  tags: ["Subscribers"],
  summary: "Subscriber counts by status and plan counts",
  operationId: "getStats",
  responses: { 200: ok("Counts", envelope(Stats, "StatsEnvelope")) },
});

export const statsRoutes = new OpenAPIHono<AppEnv>().openapi(stats, async (c) => {
  const { value, cache } = await getStats(c.get("rt"));
  c.set("cacheOutcome", cache);
  return c.json({ data: value, meta: {} }, 200);
});
