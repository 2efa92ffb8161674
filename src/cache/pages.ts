import type { Logger } from "../lib/log.ts";
import { errorMessage } from "../lib/log.ts";
import { count } from "../lib/meter.ts";

/**
 * JSON values in the Cache API (caches.default): free, per location, never replicated, so only for
 * values whose key says exactly what they are (a key that names its generation never goes stale,
 * and nothing has to reach another location to invalidate it). A failing cache is a miss, never an
 * error.
 */
export async function matchPage<T>(log: Logger, key: string): Promise<T | undefined> {
  try {
    count("cache_matches");
    const hit = await caches.default.match(key);
    if (!hit) return undefined;
    return await hit.json<T>();
  } catch (err) {
    log.warn("edge_cache_error", { op: "match", error: errorMessage(err) });
    return undefined;
  }
}

/** Stores a value for `ttlSeconds` (the Cache API's own expiry: it only bounds space). */
export async function putPage(log: Logger, key: string, value: unknown, ttlSeconds: number): Promise<void> {
  try {
    count("cache_puts");
    const headers = { "Content-Type": "application/json", "Cache-Control": `max-age=${ttlSeconds}` };
    await caches.default.put(key, new Response(JSON.stringify(value), { headers }));
  } catch (err) {
    log.warn("edge_cache_error", { op: "put", error: errorMessage(err) });
  }
}
