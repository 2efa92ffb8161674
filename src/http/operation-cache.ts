import type { Context } from "hono";
import { z } from "zod";
import type { LocalOperations, SeenOperation } from "../subscribers/index.ts";
import { Operation, operationCacheName } from "../subscribers/index.ts";
import type { AppEnv } from "./context.ts";

/**
 * Operations in the Cache API (free, per location), never in KV. The location that accepted a write
 * keeps its pending view (with the subscriber it is about and the request's HMAC): GET
 * /v1/operations/{id} shows it while Postgres has no outcome yet, and a replay of its Idempotency-Key
 * here is answered from it (src/subscribers/accept.ts); it never answers alone where Postgres can. A
 * finished operation is final but for an erasure, so its copy answers alone for FINISHED_SECONDS:
 * the bound on how long an erased operation can still be shown where it was read (docs/api.md "Erasure").
 */
const FINISHED_SECONDS = 60;
const PENDING_SECONDS = 3_600;

const Seen = z.object({ operation: Operation, request_mac: z.string().optional() });

const keyOf = (id: string) => `op:v1:${operationCacheName(id)}`;

/** This location's copies of operations, for one request (src/cache/edge.ts). A failing cache is a miss, never an error. */
export function localOperations(c: Context<AppEnv>): LocalOperations {
  const rt = c.get("rt");
  return {
    async seen(id: string): Promise<SeenOperation | undefined> {
      const copy = await rt.edge?.get<unknown>(keyOf(id));
      return copy ? Seen.safeParse(copy.value).data : undefined;
    },
    keep(seen: SeenOperation): void {
      const put = rt.edge?.put(keyOf(seen.operation.id), seen, seen.operation.status === "pending" ? PENDING_SECONDS : FINISHED_SECONDS);
      // Without an execution context (app.request() in tests) the put runs on its own.
      if (put) rt.defer(put);
    },
  };
}
