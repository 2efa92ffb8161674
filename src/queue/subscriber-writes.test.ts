import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "./subscriber-writes.ts";

describe("retryDelaySeconds", () => {
  it("doubles from the base per delivery attempt and caps at 300 s", () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, 5))).toEqual([5, 10, 20, 40, 80]);
    expect(retryDelaySeconds(12, 5)).toBe(300);
    expect(retryDelaySeconds(0, 5)).toBe(5);
  });
});
