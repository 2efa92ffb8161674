import { count } from "../lib/meter.ts";

/**
 * KV operations of the running invocation (src/lib/meter.ts). KV bills writes, deletes and lists at
 * ten times a read and takes one write a second per key, so a regression that adds writes shows on
 * the invocation's log line. Upstash commands are counted the same way.
 */
export function countKv(kind: "read" | "write" | "delete" | "list", n = 1): void {
  count(kind === "read" ? "kv_reads" : kind === "write" ? "kv_writes" : kind === "delete" ? "kv_deletes" : "kv_lists", n);
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
      countKv("delete");
      return kv.delete(key);
    },
    list: <Meta = unknown>(opts: KVNamespaceListOptions) => {
      countKv("list");
      return kv.list<Meta>(opts);
    },
  };
}
