import { describe, expect, it } from "vitest";
import { ifNoneMatchHolds } from "./edge-cache.ts";

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
