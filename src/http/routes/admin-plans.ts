import { OpenAPIHono } from "@hono/zod-openapi";
import { lastSyncReport, runPlanSync, SyncReport } from "../../plans/index.ts";
import type { AppEnv } from "../context.ts";
import { adminRoute } from "../keyed-route.ts";
import { noBody } from "../middleware/json-body.ts";
import { envelope, noBodyProblem, ok, problems } from "../openapi-schemas.ts";

const runNow = adminRoute({
  method: "post",
  path: "/v1/admin/plans/sync",
  tags: ["Admin"],
  summary: "Run one plan sync now and return its report",
  description: "Same sync as the Cron Trigger. A sync already running makes this one report `skipped`.",
  operationId: "runPlanSync",
  middleware: [noBody],
  responses: {
    200: ok("The run's report", envelope(SyncReport, "PlanSyncReportEnvelope")),
    ...noBodyProblem,
    502: problems[502],
    503: problems.providerUnavailable,
  },
});

const last = adminRoute({
  method: "get",
  path: "/v1/admin/plans/sync",
  tags: ["Admin"],
  summary: "The last plan sync's report (cron or admin)",
  operationId: "getPlanSyncReport",
  responses: { 200: ok("The last run's report", envelope(SyncReport, "PlanSyncLastReport")) },
});

export const adminPlanRoutes = new OpenAPIHono<AppEnv>()
  .openapi(runNow, async (c) => c.json({ data: await runPlanSync(c.get("rt"), "admin"), meta: {} }, 200))
  .openapi(last, async (c) => c.json({ data: await lastSyncReport(c.get("rt")), meta: {} }, 200));
