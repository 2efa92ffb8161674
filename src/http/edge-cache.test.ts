import { describe, expect, it } from "vitest";
import { dedupeVary, ifNoneMatchHolds, varyOn } from "./edge-cache.ts";

describe("ifNoneMatchHolds (RFC 9110 §13.1.2)", () => {
  const etag = '"abc"';
  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", W/"abc"', true],
    ['"x","abc"', true],
    [" * ", true],
    ['"a,bc", "x"', false],
    ['"ab"', false],
    ["abc", false],
    ["", false],
    ['*, "x"', false],
  ])("%s → %s", (header, holds) => {
    expect(ifNoneMatchHolds(header, etag)).toBe(holds);
  });

  it("is false without the header, and compares a weak ETag of ours weakly too", () => {
    expect(ifNoneMatchHolds(undefined, etag)).toBe(false);
    expect(ifNoneMatchHolds('"abc"', 'W/"abc"')).toBe(true);
  });
});

describe("Vary", () => {
  it("varyOn adds a member once, whatever its case; dedupeVary leaves each member once", () => {
    const h = new Headers();
    varyOn(h, "Origin");
    varyOn(h, "origin");
    expect(h.get("vary")).toBe("Origin");
    h.set("Vary", "Prefer");
    varyOn(h, "Origin");
    expect(h.get("vary")).toBe("Prefer, Origin");
    h.set("Vary", "Origin, Origin, Accept-Encoding");
    dedupeVary(h);
    expect(h.get("vary")).toBe("Origin, Accept-Encoding");
  });
});
