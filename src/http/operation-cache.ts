import type { Context } from "hono";
import { z } from "zod";
import { errorMessage } from "../lib/log.ts";
import { count } from "../lib/meter.ts";
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

/** The key names the request's origin, as the other Cache API keys do (src/http/edge-cache.ts), and no API key. */
const keyOf = (c: Context<AppEnv>, id: string) => `${new URL(c.req.url).origin}/__edge/op/v1/${operationCacheName(id)}`;

/** This location's copies of operations, for one request. A failing cache is a miss, never an error. */
export function localOperations(c: Context<AppEnv>): LocalOperations {
  return {
    async seen(id: string): Promise<SeenOperation | undefined> {
      try {
        count("cache_matches");
        const hit = await caches.default.match(keyOf(c, id));
        if (!hit) return undefined;
        return Seen.safeParse(await hit.json()).data;
      } catch (err) {
        c.get("rt").log.warn("edge_cache_error", { op: "match", error: errorMessage(err) });
        return undefined;
      }
    },
    keep(seen: SeenOperation): void {
      const seconds = seen.operation.status === "pending" ? PENDING_SECONDS : FINISHED_SECONDS;
      const copy = new Response(JSON.stringify(seen), {
        headers: { "Content-Type": "application/json", "Cache-Control": `public, max-age=${seconds}` },
      });
      count("cache_puts");
      const put = caches.default.put(keyOf(c, seen.operation.id), copy).catch((err: unknown) => {
        c.get("rt").log.warn("edge_cache_error", { op: "put", error: errorMessage(err) });
      });
      try {
        c.executionCtx.waitUntil(put);
      } catch {
        // app.request() without an execution context: the put runs on its own.
      }
    },
  };
}
