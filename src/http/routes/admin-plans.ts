import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { lastSyncReport, runPlanSync } from "../../plans/service.ts";
import type { AppEnv } from "../context.ts";
import { requireAdmin } from "../middleware/auth.ts";
import { authProblems, envelope, problems, Problem } from "../openapi-schemas.ts";

const SyncReport = z
  .object({
    id: z.uuid(),
    trigger: z.enum(["cron", "admin"]),
    outcome: z.enum(["ok", "unchanged", "not_modified", "skipped", "failed"]),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime(),
    ms: z.number().int(),
    attempts: z.number().int(),
    counts: z.object({
      base_plans: z.number().int(),
      plans_seen: z.number().int(),
      online: z.number().int(),
      upserted: z.number().int(),
      skipped: z.number().int(),
      invalid: z.number().int(),
      zones_written: z.number().int(),
    }),
    invalid_samples: z.array(z.object({ basePlanId: z.string().nullable(), planId: z.string().nullable(), reason: z.string() })),
    document: z.object({ bytes: z.number().int(), sha256: z.string().nullable(), etag: z.string().nullable(), last_modified: z.string().nullable() }),
    index: z.object({ plans: z.number().int(), bytes: z.number().int(), stored: z.boolean() }).nullable(),
    error: z.object({ failure: z.string(), message: z.string() }).nullable(),
  })
  .openapi("PlanSyncReport");

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
