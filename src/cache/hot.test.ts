import { describe, expect, it } from "vitest";
import { hotCache } from "./hot.ts";

describe("hotCache", () => {
  it("serves a value until its TTL, then forgets it", () => {
    let t = 0;
    const c = hotCache(10, () => t);
    c.set("a", { v: 1 }, 5);
    expect(c.get("a")).toEqual({ v: 1 });
    t = 4_999;
    expect(c.get("a")).toEqual({ v: 1 });
    t = 5_000;
    expect(c.get("a")).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("evicts the least recently used entry beyond its bound", () => {
    const c = hotCache(2, () => 0);
    c.set("a", 1, 60);
    c.set("b", 2, 60);
    expect(c.get("a")).toBe(1); // a is now the most recently used
    c.set("c", 3, 60);
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([1, undefined, 3]);
  });

  it("ignores a non-positive TTL", () => {
    const c = hotCache();
    c.set("a", 1, 0);
    expect(c.get("a")).toBeUndefined();
  });
});
