import type { Store } from "./store.ts";

export function memoryStore(now: () => number = Date.now): Store {
  const entries = new Map<string, { json: string; expiresAt: number }>();
  return {
    kind: "memory",
    async get<T>(key: string) {
      const e = entries.get(key);
      if (!e) return null;
      if (e.expiresAt <= now()) {
        entries.delete(key);
        return null;
      }
      return JSON.parse(e.json) as T;
    },
    async put(key, value, opts) {
      const ttl = opts?.ttlSeconds ?? Number.POSITIVE_INFINITY;
      entries.set(key, { json: JSON.stringify(value), expiresAt: now() + ttl * 1000 });
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}
