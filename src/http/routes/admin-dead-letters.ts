import { OpenAPIHono, z } from "@hono/zod-openapi";
import { DeadLetter, pendingDeadLetters, ReplayRequest, ReplayResult, replayPending } from "../../dead-letters/index.ts";
import { pageQuery } from "../../lib/pagination.ts";
import { replayableWrite } from "../../subscribers/index.ts";
import type { AppEnv } from "../context.ts";
import { adminRoute } from "../keyed-route.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { envelope, jsonBodyProblems, ok } from "../openapi-schemas.ts";

const list = adminRoute({
  method: "get",
  path: "/v1/admin/dead-letters",
  tags: ["Admin"],
  summary: "Dead letters not yet replayed, oldest first",
  operationId: "listDeadLetters",
  request: { query: z.strictObject({ limit: pageQuery.limit }) },
  responses: { 200: ok("Dead letters", envelope(z.array(DeadLetter), "DeadLetterList")) },
});

const replay = adminRoute({
  method: "post",
  path: "/v1/admin/dead-letters/replay",
  tags: ["Admin"],
  summary: "Send dead letters back to the subscriber queue",
  description:
    "Replays the given ids, or the oldest `limit` not yet replayed. Each is sent unchanged and marked replayed; a write the database refused before gets a new outcome if it is stored now. Writes dead-lettered for lack of the database are replayed automatically every minute.",
  operationId: "replayDeadLetters",
  middleware: jsonBody(),
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: ReplayRequest,
        },
      },
    },
  },
  responses: {
    200: ok("What was replayed and what could not be", envelope(ReplayResult, "DeadLetterReplayEnvelope")),
    ...jsonBodyProblems,
  },
});

export const adminDeadLetterRoutes = new OpenAPIHono<AppEnv>()
  .openapi(list, async (c) => c.json({ data: await pendingDeadLetters(c.get("rt"), c.req.valid("query").limit), meta: {} }, 200))
  .openapi(replay, async (c) => c.json({ data: await replayPending(c.get("rt"), c.req.valid("json"), replayableWrite), meta: {} }, 200));
