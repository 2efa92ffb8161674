import { describe, expect, it } from "vitest";
import { ByteLru } from "./byte-lru.ts";

describe("ByteLru", () => {
  it("evicts the least recently used entries until the new one fits its byte budget", () => {
    const lru = new ByteLru<string>(10);
    lru.set("a", "A", 4);
    lru.set("b", "B", 4);
    expect(lru.get("a")).toBe("A"); // a is now the most recent
    lru.set("c", "C", 4);
    expect(lru.get("b")).toBeUndefined();
    expect(lru.get("a")).toBe("A");
    expect(lru.get("c")).toBe("C");
    expect(lru.bytes).toBe(8);
  });

  it("never holds more than its budget, and skips an entry larger than all of it", () => {
    const lru = new ByteLru<number>(100);
    for (let i = 0; i < 1_000; i++) {
      lru.set(String(i % 37), i, (i * 7) % 60);
      expect(lru.bytes).toBeLessThanOrEqual(100);
    }
    lru.set("huge", 1, 101);
    expect(lru.get("huge")).toBeUndefined();
    lru.set("x", 1, 30);
    lru.set("x", 2, 50);
    expect(lru.get("x")).toBe(2);
    lru.clear();
    expect(lru.bytes).toBe(0);
  });
});
