/**
 * Isolate-level memory in front of the edge cache, for hot entries that may be a little stale: a
 * read served from here costs no KV/Upstash round trip. Bounded (least recently used goes first)
 * and short-lived; only ever filled with positive values (an absence is never remembered here, so a
 * subscriber created a moment ago is never hidden by it). Values are shared: callers must not mutate.
 */
export interface HotCache {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown, ttlSeconds: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

export function hotCache(maxEntries = 5_000, now: () => number = Date.now): HotCache {
  const entries = new Map<string, { value: unknown; expiresAt: number }>();
  return {
    get<T>(key: string): T | undefined {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.expiresAt <= now()) {
        entries.delete(key);
        return undefined;
      }
      // Map keeps insertion order: re-inserting makes this the most recently used.
      entries.delete(key);
      entries.set(key, e);
      return e.value as T;
    },
    set(key, value, ttlSeconds) {
      if (ttlSeconds <= 0) return;
      entries.delete(key);
      entries.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    delete: (key) => void entries.delete(key),
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
