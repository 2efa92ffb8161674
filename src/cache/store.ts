/**
 * The edge cache behind one interface. Values are JSON. Implementations: Workers KV (default),
 * Upstash Redis (when configured).
 */
export interface Store {
  readonly kind: "kv" | "upstash";
  get<T>(key: string): Promise<T | null>;
  /** ttlSeconds: KV's minimum is 60; shorter values are raised to it by the KV store. */
  put(key: string, value: unknown, opts?: { ttlSeconds?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes every key under a prefix (rare, bounded work: an erasure's purge of list pages); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}
