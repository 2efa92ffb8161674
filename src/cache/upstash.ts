import { Redis } from "@upstash/redis/cloudflare";
import { countKv } from "./meter.ts";
import type { Store } from "./store.ts";

/**
 * Upstash Redis over its REST API. Values go in as JSON and come back parsed. One quick retry at
 * most: a read falls back to Postgres when the cache fails, so retrying for seconds would only make
 * the request slower than not caching at all.
 */
export function upstashStore(opts: { url: string; token: string }): Store {
  const redis = new Redis({ url: opts.url, token: opts.token, retry: { retries: 1, backoff: () => 50 } });
  return {
    kind: "upstash",
    get: <T>(key: string) => {
      countKv("read");
      return redis.get<T>(key);
    },
    put: async (key, value, o) => {
      countKv("write");
      await (o?.ttlSeconds ? redis.set(key, value, { ex: o.ttlSeconds }) : redis.set(key, value));
    },
    delete: async (key) => {
      countKv("delete");
      await redis.del(key);
    },
    deletePrefix: async (prefix) => {
      let deleted = 0;
      let cursor: string | number = 0;
      do {
        countKv("list");
        const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${prefix}*`, count: 500 });
        countKv("delete", keys.length);
        if (keys.length) deleted += await redis.del(...keys);
        cursor = next;
      } while (String(cursor) !== "0");
      return deleted;
    },
  };
}
