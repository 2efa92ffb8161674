import type { Store } from "./store.ts";

const KV_MIN_TTL = 60;

export function kvStore(kv: KVNamespace): Store {
  return {
    kind: "kv",
    get: <T>(key: string) => kv.get<T>(key, "json"),
    put: (key, value, opts) =>
      kv.put(key, JSON.stringify(value), opts?.ttlSeconds ? { expirationTtl: Math.max(KV_MIN_TTL, opts.ttlSeconds) } : undefined),
    delete: (key) => kv.delete(key),
  };
}
