import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { pendingDeadLetters, replayPending } from "../../queue/redrive.ts";
import type { AppEnv } from "../context.ts";
import { requireAdmin } from "../middleware/auth.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { authProblems, envelope, problems } from "../openapi-schemas.ts";

const DeadLetter = z
  .object({
    id: z.number().int(),
    queue: z.string(),
    message_id: z.string(),
    reason: z.string(),
    attempts: z.number().int(),
    /** The raw message: JSON text, or base64 for bytes. Carries personal data, hence admin only. */
    body: z.string(),
    body_format: z.enum(["json", "base64", "text"]),
    received_at: z.iso.datetime(),
  })
  .openapi("DeadLetter");

const ReplayResult = z
  .object({
    replayed: z.array(z.number().int()),
    skipped: z.array(z.object({ id: z.number().int(), reason: z.string() })),
  })
  .openapi("DeadLetterReplay");

const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: "get",
  path: "/v1/admin/dead-letters",
  tags: ["Admin"],
  summary: "Dead letters not yet replayed, oldest first",
  security,
  middleware: [requireAdmin()] as const,
  request: { query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(25) }) },
  responses: {
    200: { description: "Dead letters", content: { "application/json": { schema: envelope(z.array(DeadLetter), "DeadLetterList") } } },
    ...authProblems,
    404: problems[404],
    422: problems[422],
  },
});

const replay = createRoute({
  method: "post",
  path: "/v1/admin/dead-letters/replay",
  tags: ["Admin"],
  summary: "Send dead letters back to the subscriber queue",
  description:
    "Replays the given ids, or the oldest `limit` not yet replayed. Each is sent unchanged and marked replayed; a write the database refused before gets a new outcome if it is stored now. Writes dead-lettered for lack of the database are replayed automatically every minute.",
  security,
  middleware: [requireAdmin(), ...jsonBody(16 * 1024)] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({ ids: z.array(z.number().int().positive()).min(1).max(100).optional(), limit: z.number().int().min(1).max(100).default(100) }),
        },
      },
    },
  },
  responses: {
    200: { description: "What was replayed and what could not be", content: { "application/json": { schema: envelope(ReplayResult, "DeadLetterReplayEnvelope") } } },
    ...authProblems,
    404: problems[404],
    415: problems[415],
    422: problems[422],
  },
});

export const adminDeadLetterRoutes = new OpenAPIHono<AppEnv>()
  .openapi(list, async (c) => {
    const rows = await pendingDeadLetters(c.get("rt"), c.req.valid("query").limit);
    const data = rows.map((r) => ({
      id: r.id,
      queue: r.queue,
      message_id: r.messageId,
      reason: r.reason,
      attempts: r.attempts,
      body: r.body,
      body_format: r.bodyFormat,
      received_at: r.receivedAt.toISOString(),
    }));
    return c.json({ data, meta: {} }, 200);
  })
  .openapi(replay, async (c) => c.json({ data: await replayPending(c.get("rt"), c.req.valid("json")), meta: {} }, 200));
