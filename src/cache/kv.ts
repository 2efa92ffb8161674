import { countKv } from "./meter.ts";
import type { Store } from "./store.ts";

const KV_MIN_TTL = 60;

export function kvStore(kv: KVNamespace): Store {
  return {
    kind: "kv",
    get: <T>(key: string) => {
      countKv("read");
      return kv.get<T>(key, "json");
    },
    put: (key, value, opts) => {
      countKv("write");
      return kv.put(key, JSON.stringify(value), opts?.ttlSeconds ? { expirationTtl: Math.max(KV_MIN_TTL, opts.ttlSeconds) } : undefined);
    },
    delete: (key) => {
      countKv("delete");
      return kv.delete(key);
    },
    deletePrefix: async (prefix) => {
      let deleted = 0;
      let cursor: string | undefined;
      do {
        countKv("list");
        const page: KVNamespaceListResult<unknown> = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
        countKv("delete", page.keys.length);
        await Promise.all(page.keys.map((k) => kv.delete(k.name)));
        deleted += page.keys.length;
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return deleted;
    },
  };
}
