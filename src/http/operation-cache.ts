import type { Context } from "hono";
import { errorMessage } from "../lib/log.ts";
import { count } from "../lib/meter.ts";
import { Operation } from "../subscribers/index.ts";
import type { AppEnv } from "./context.ts";

/**
 * Operations in the Cache API (free, per location), never in KV. The location that accepted a write
 * keeps its pending view (with the subscriber it is about), which GET /v1/operations/{id} shows while
 * Postgres has no outcome yet; it never answers alone, Postgres is asked first. A finished operation is
 * final but for an erasure, so its copy answers alone for FINISHED_SECONDS, the bound on how long an
 * erased operation can still be shown where it was read (docs/api.md "Erasure").
 */
const FINISHED_SECONDS = 60;
const PENDING_SECONDS = 3_600;

/** The key names the request's origin, as the other Cache API keys do (src/http/edge-cache.ts), and no API key. */
const keyOf = (c: Context<AppEnv>, id: string) => `${new URL(c.req.url).origin}/__edge/op/v1/${id.toLowerCase()}`;

/** This location's copy of an operation, or undefined: a failing cache is a miss, never an error. */
export async function cachedOperation(c: Context<AppEnv>, id: string): Promise<Operation | undefined> {
  try {
    count("cache_matches");
    const hit = await caches.default.match(keyOf(c, id));
    if (!hit) return undefined;
    const parsed = Operation.safeParse(await hit.json());
    return parsed.success && parsed.data.id === id.toLowerCase() ? parsed.data : undefined;
  } catch (err) {
    c.get("rt").log.warn("edge_cache_error", { op: "match", error: errorMessage(err) });
    return undefined;
  }
}

/** Keeps an operation as this location last saw it, after the answer is sent. */
export function keepOperation(c: Context<AppEnv>, op: Operation): void {
  const seconds = op.status === "pending" ? PENDING_SECONDS : FINISHED_SECONDS;
  const copy = new Response(JSON.stringify(op), {
    headers: { "Content-Type": "application/json", "Cache-Control": `public, max-age=${seconds}` },
  });
  count("cache_puts");
  const put = caches.default.put(keyOf(c, op.id), copy).catch((err: unknown) => {
    c.get("rt").log.warn("edge_cache_error", { op: "put", error: errorMessage(err) });
  });
  try {
    c.executionCtx.waitUntil(put);
  } catch {
    // app.request() without an execution context: the put runs on its own.
  }
}
