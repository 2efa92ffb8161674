import { describe, expect, it } from "vitest";
import { KeyWriteRate, keyShape } from "./key-write-rate.ts";

describe("KeyWriteRate", () => {
  it("reports 0 without writes and 1 for keys written once", () => {
    const r = new KeyWriteRate();
    expect(r.snapshot()).toMatchObject({ writes: 0, max_writes_1s: 0, keys_over_1: 0 });
    r.note("a", 1_000);
    r.note("b", 1_000);
    expect(r.snapshot()).toMatchObject({ writes: 2, max_writes_1s: 1, keys_over_1: 0, hottest: [] });
  });

  it("counts writes to one key within any 1,000 ms window, not per calendar second", () => {
    const r = new KeyWriteRate();
    // 1,900 and 2,100 fall in different calendar seconds but 200 ms apart.
    r.note("hot", 1_900);
    r.note("hot", 2_100);
    expect(r.snapshot()).toMatchObject({ max_writes_1s: 2, keys_over_1: 1, hottest: [{ key: "hot", max_writes_1s: 2 }] });
  });

  it("lets a key be written once a second, exactly 1,000 ms apart", () => {
    const r = new KeyWriteRate();
    for (let t = 0; t <= 10_000; t += 1_000) r.note("steady", t);
    expect(r.snapshot()).toMatchObject({ writes: 11, max_writes_1s: 1, keys_over_1: 0 });
  });

  it("finds the peak of a burst and ranks the hottest keys", () => {
    const r = new KeyWriteRate();
    for (let i = 0; i < 5; i++) r.note("subs:v1:listver", 10_000 + i * 100);
    r.note("sub:v1:id:0190a3b4-1c2d-7e8f-9a0b-1c2d3e4f5a6b", 10_000);
    r.note("sub:v1:id:0190a3b4-1c2d-7e8f-9a0b-1c2d3e4f5a6b", 10_500);
    r.note("sub:v1:id:0190a3b4-1c2d-7e8f-9a0b-1c2d3e4f5a6c", 10_000);
    r.note("sub:v1:id:0190a3b4-1c2d-7e8f-9a0b-1c2d3e4f5a6c", 10_001);
    const s = r.snapshot();
    expect(s.max_writes_1s).toBe(5);
    expect(s.keys_over_1).toBe(3);
    expect(s.hottest[0]).toEqual({ key: "subs:v1:listver", max_writes_1s: 5 });
    expect(s.by_shape).toEqual({
      "subs:v1:listver": { keys: 1, max_writes_1s: 5 },
      "sub:v1:id:<uuid>": { keys: 2, max_writes_1s: 2 },
    });
  });

  it("keeps the peak once the window has moved on and a sweep has run", () => {
    const r = new KeyWriteRate();
    r.note("k", 0);
    r.note("k", 10);
    // Enough other writes, much later, to trigger a sweep: "k" is dropped from the window.
    for (let i = 0; i < 1_000; i++) r.note(`other-${i}`, 5_000 + i * 2_000);
    r.note("k", 5_000_000);
    expect(r.snapshot()).toMatchObject({ max_writes_1s: 2, keys_over_1: 1 });
  });

  it("starts over on reset but still sees a window that spans it", () => {
    const r = new KeyWriteRate();
    r.note("k", 0);
    r.note("k", 100);
    r.reset();
    expect(r.snapshot()).toMatchObject({ writes: 0, max_writes_1s: 0, keys_over_1: 0 });
    r.note("k", 500);
    expect(r.snapshot()).toMatchObject({ writes: 1, max_writes_1s: 3 });
  });
});

describe("keyShape", () => {
  it("replaces ids and hashes", () => {
    expect(keyShape(`sub:v2:email:${"ab".repeat(32)}`)).toBe("sub:v2:email:<hash>");
    expect(keyShape("op:v1:0190A3B4-1C2D-7E8F-9A0B-1C2D3E4F5A6B")).toBe("op:v1:<uuid>");
  });
});
