import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { SyncReport } from "../../plans/schema.ts";
import { lastSyncReport, runPlanSync } from "../../plans/service.ts";
import type { AppEnv } from "../context.ts";
import { requireAdmin } from "../middleware/auth.ts";
import { authProblems, envelope, Problem, problems } from "../openapi-schemas.ts";

const security = [{ bearerAuth: [] }];
const providerProblem = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

const runNow = createRoute({
  method: "post",
  path: "/v1/admin/plans/sync",
  tags: ["Admin"],
  summary: "Run one plan sync now and return its report",
  description: "Same sync as the Cron Trigger. A sync already running makes this one report `skipped`.",
  security,
  middleware: [requireAdmin()] as const,
  responses: {
    200: { description: "The run's report", content: { "application/json": { schema: envelope(SyncReport, "PlanSyncReportEnvelope") } } },
    ...authProblems,
    404: problems[404],
    502: providerProblem("The provider could not be read after retries, or sent an unusable document (Retry-After)"),
    503: providerProblem("The provider's circuit breaker is open, or the database is unavailable (Retry-After)"),
  },
});

const last = createRoute({
  method: "get",
  path: "/v1/admin/plans/sync",
  tags: ["Admin"],
  summary: "The last plan sync's report (cron or admin)",
  security,
  middleware: [requireAdmin()] as const,
  responses: {
    200: { description: "The last run's report", content: { "application/json": { schema: envelope(SyncReport, "PlanSyncLastReport") } } },
    ...authProblems,
    404: problems[404],
  },
});

export const adminPlanRoutes = new OpenAPIHono<AppEnv>()
  .openapi(runNow, async (c) => c.json({ data: await runPlanSync(c.get("rt"), "admin"), meta: {} }, 200))
  .openapi(last, async (c) => c.json({ data: await lastSyncReport(c.get("rt")), meta: {} }, 200));
