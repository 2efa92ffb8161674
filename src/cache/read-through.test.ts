import { describe, expect, it } from "vitest";
import { resetIsolateMemory } from "../lib/isolate-memory.ts";
import { createLogger } from "../lib/log.ts";
import type { EdgeCache } from "./edge.ts";
import { readThrough } from "./read-through.ts";
import type { Store } from "./store.ts";

/** A Store in a Map, remembering each put's TTL. */
function memoryStore() {
  const values = new Map<string, unknown>();
  const ttls = new Map<string, number | undefined>();
  const store: Store = {
    kind: "kv",
    get: async <T>(key: string) => (values.has(key) ? (structuredClone(values.get(key)) as T) : null),
    put: async (key, value, opts) => {
      values.set(key, structuredClone(value));
      ttls.set(key, opts?.ttlSeconds);
    },
    delete: async (key) => void values.delete(key),
    deletePrefix: async () => 0,
  };
  return { store, values, ttls, rt: { cache: store, log: createLogger("error") } };
}

const DOWN = new Error("database down");
const ttl = { hitSeconds: 60, staleSeconds: 3_600, missingSeconds: 0, serveStaleOn: (e: unknown) => e === DOWN, staleWaitMs: 50 };
const nowS = () => Math.floor(Date.now() / 1000);

describe("readThrough with a stale allowance", () => {
  it("a fresh copy answers without asking the source", async () => {
    const m = memoryStore();
    m.values.set("k1", { v: "copy", f: nowS() + 30 });
    const read = await readThrough(m.rt, "k1", () => Promise.reject(new Error("not asked")), ttl);
    expect(read.value).toBe("copy");
  });

  it("a stale copy asks the source again; its answer is stored fresh, kept hit + stale seconds", async () => {
    const m = memoryStore();
    m.values.set("k2", { v: "old", f: nowS() - 1 });
    expect((await readThrough(m.rt, "k2", async () => "new", ttl)).value).toBe("new");
    expect(m.values.get("k2")).toMatchObject({ v: "new" });
    expect((m.values.get("k2") as { f: number }).f).toBeGreaterThanOrEqual(nowS() + 59);
    expect(m.ttls.get("k2")).toBe(60 + 3_600);
  });

  it("a stale copy answers while the source is down, or hangs past staleWaitMs", async () => {
    const m = memoryStore();
    m.values.set("k3", { v: "old", f: nowS() - 1 });
    expect((await readThrough(m.rt, "k3", () => Promise.reject(DOWN), ttl)).value).toBe("old");
    const started = Date.now();
    expect((await readThrough(m.rt, "k3", () => new Promise<string>(() => {}), ttl)).value).toBe("old");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("other failures, or a source down with no copy at all, still fail", async () => {
    const m = memoryStore();
    m.values.set("k4", { v: "old", f: nowS() - 1 });
    await expect(readThrough(m.rt, "k4", () => Promise.reject(new Error("a bug")), ttl)).rejects.toThrow("a bug");
    await expect(readThrough(m.rt, "absent", () => Promise.reject(DOWN), ttl)).rejects.toBe(DOWN);
  });

  it("a stale copy of something gone at the source is deleted, so no later outage brings it back", async () => {
    const m = memoryStore();
    m.values.set("k5", { v: "revoked key", f: nowS() - 1 });
    expect((await readThrough(m.rt, "k5", async () => undefined, ttl)).value).toBeUndefined();
    expect(m.values.has("k5")).toBe(false);
  });
});

/** An EdgeCache in a Map, whose copies' ages the test sets. */
function memoryEdge() {
  const copies = new Map<string, { value: unknown; storedAt: number }>();
  const edge: EdgeCache = {
    get: async <T>(key: string) => {
      const c = copies.get(key);
      return c ? { value: structuredClone(c.value) as T, ageMs: Date.now() - c.storedAt } : null;
    },
    put: async (key, value) => void copies.set(key, { value: structuredClone(value), storedAt: Date.now() }),
    delete: async (key) => void copies.delete(key),
  };
  return { edge, copies };
}

describe("readThrough with this location's Cache API (edgeReads)", () => {
  const hotTtl = { hitSeconds: 60, missingSeconds: 60, hotSeconds: 5 };

  it("a KV hit leaves a copy; another isolate then answers from it without KV", async () => {
    const m = memoryStore();
    const e = memoryEdge();
    m.values.set("e1", { v: "value" });
    const rt = { ...m.rt, edgeReads: e.edge };
    expect((await readThrough(rt, "e1", () => Promise.reject(new Error("not asked")), hotTtl)).value).toBe("value");
    await Promise.resolve();
    expect(e.copies.get("e1")?.value).toBe("value");
    resetIsolateMemory();
    m.values.delete("e1");
    expect((await readThrough(rt, "e1", () => Promise.reject(new Error("not asked")), hotTtl)).value).toBe("value");
  });

  it("a copy as old as hotSeconds is not served, and memory keeps a younger one only for what is left", async () => {
    const m = memoryStore();
    const e = memoryEdge();
    const rt = { ...m.rt, edgeReads: e.edge };
    e.copies.set("e2", { value: "old", storedAt: Date.now() - 5_000 });
    m.values.set("e2", { v: "new" });
    resetIsolateMemory();
    expect((await readThrough(rt, "e2", async () => "db", hotTtl)).value).toBe("new");
    // 4.9 s old: served, and remembered for 0.1 s only.
    e.copies.set("e3", { value: "copy", storedAt: Date.now() - 4_900 });
    m.values.set("e3", { v: "kv" });
    resetIsolateMemory();
    expect((await readThrough(rt, "e3", async () => "db", hotTtl)).value).toBe("copy");
    e.copies.delete("e3");
    await new Promise((r) => setTimeout(r, 150));
    expect((await readThrough(rt, "e3", async () => "db", hotTtl)).value).toBe("kv");
  });

  it("absences and entries without hotSeconds never reach it", async () => {
    const m = memoryStore();
    const e = memoryEdge();
    const rt = { ...m.rt, edgeReads: e.edge };
    expect((await readThrough(rt, "absent", async () => undefined, hotTtl)).value).toBeUndefined();
    expect((await readThrough(rt, "page", async () => "page", { hitSeconds: 60, missingSeconds: 0 })).value).toBe("page");
    await Promise.resolve();
    expect([...e.copies.keys()]).toEqual([]);
  });
});

describe("readThrough's fills", () => {
  it("concurrent misses of one key in an isolate write it once a second, not once each", async () => {
    resetIsolateMemory();
    const m = memoryStore();
    let puts = 0;
    const put = m.store.put;
    m.store.put = (key, value, opts) => {
      puts++;
      return put(key, value, opts);
    };
    m.values.set("hot", { v: "old", f: nowS() - 1 });
    const reads = await Promise.all(Array.from({ length: 32 }, () => readThrough(m.rt, "hot", async () => "new", ttl)));
    expect(reads.every((r) => r.value === "new")).toBe(true);
    expect(puts).toBe(1);
    m.values.delete("other");
    await readThrough(m.rt, "other", async () => "x", ttl);
    expect(puts).toBe(2);
  });
});
