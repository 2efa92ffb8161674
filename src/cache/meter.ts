import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Edge cache operations of one invocation (request, queue batch, cron task), for its log line.
 * KV bills writes (puts and deletes) and lists at ten times a read and allows one write per second
 * per key, so a regression that adds writes should show. Upstash commands are counted the same way.
 */
export interface KvCounts {
  kv_reads: number;
  kv_writes: number;
  kv_lists: number;
}

const current = new AsyncLocalStorage<KvCounts>();

export const newKvCounts = (): KvCounts => ({ kv_reads: 0, kv_writes: 0, kv_lists: 0 });

/**
 * Runs `fn` with `counts` as the meter: every cache operation started inside (awaited, or deferred
 * with waitUntil) lands on these counts and never on a concurrent invocation's, although the store
 * itself is shared by every request of the isolate.
 */
export function withKvMeter<T>(counts: KvCounts, fn: () => T): T {
  return current.run(counts, fn);
}

export function countKv(kind: "read" | "write" | "list", n = 1): void {
  const counts = current.getStore();
  if (!counts) return;
  if (kind === "read") counts.kv_reads += n;
  else if (kind === "write") counts.kv_writes += n;
  else counts.kv_lists += n;
}

/** The raw KV binding, metered: for what needs KV itself rather than the cache Store (parked dead letters, the local write journal). */
export type MeteredKv = ReturnType<typeof meteredKv>;

export function meteredKv(kv: KVNamespace) {
  return {
    get: <T>(key: string, type: "json") => {
      countKv("read");
      return kv.get<T>(key, type);
    },
    getText: (key: string) => {
      countKv("read");
      return kv.get(key);
    },
    put: (key: string, value: string, options?: KVNamespacePutOptions) => {
      countKv("write");
      return kv.put(key, value, options);
    },
    delete: (key: string) => {
      countKv("write");
      return kv.delete(key);
    },
    list: <Meta = unknown>(opts: KVNamespaceListOptions) => {
      countKv("list");
      return kv.list<Meta>(opts);
    },
  };
}
