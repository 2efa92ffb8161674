import type { Logger } from "../lib/log.ts";
import { errorMessage } from "../lib/log.ts";
import { count } from "../lib/meter.ts";

/**
 * Copies of cache entries in the Workers Cache API (caches.default): one per Cloudflare location,
 * free, and shared by every isolate there, so it answers what would otherwise be a billed KV read
 * per isolate. It is never the source of anything: every copy says when it was stored, the reader
 * decides how old a copy it accepts, and a failing cache is a miss.
 */
export interface EdgeCache {
  /** The copy and its age in ms, or null (none, unreadable, or the cache failed). */
  get<T>(key: string): Promise<{ value: T; ageMs: number } | null>;
  /** Stores a copy for at most ttlSeconds; never throws. */
  put(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Drops this location's copy; never throws. */
  delete(key: string): Promise<void>;
}

const STORED_AT = "X-Stored-At";

/**
 * Keys live under the Worker's own origin (Cloudflare: use the zone's hostname for Cache API keys),
 * on a path no route has; plan answers use "/__edge/" (src/http/edge-cache.ts).
 */
export function edgeCache(origin: string, log: Logger): EdgeCache {
  const url = (key: string) => `${origin}/__edge-kv/${encodeURIComponent(key)}`;
  const failed = (op: string, err: unknown) => log.warn("edge_cache_error", { op, error: errorMessage(err) });
  return {
    async get<T>(key: string) {
      count("cache_matches");
      try {
        const hit = await caches.default.match(url(key));
        if (!hit) return null;
        const storedAt = Number(hit.headers.get(STORED_AT));
        if (!Number.isFinite(storedAt) || storedAt <= 0) {
          await hit.body?.cancel();
          return null;
        }
        return { value: await hit.json<T>(), ageMs: Math.max(0, Date.now() - storedAt) };
      } catch (err) {
        failed("match", err);
        return null;
      }
    },
    async put(key, value, ttlSeconds) {
      if (ttlSeconds < 1) return;
      count("cache_puts");
      try {
        const copy = new Response(JSON.stringify(value), {
          headers: {
            "Content-Type": "application/json",
            "Cache-Control": `max-age=${Math.floor(ttlSeconds)}`,
            [STORED_AT]: String(Date.now()),
          },
        });
        await caches.default.put(url(key), copy);
      } catch (err) {
        failed("put", err);
      }
    },
    async delete(key) {
      try {
        await caches.default.delete(url(key));
      } catch (err) {
        failed("delete", err);
      }
    },
  };
}
