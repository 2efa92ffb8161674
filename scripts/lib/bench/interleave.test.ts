import { describe, expect, it } from "vitest";
import { interleave, median, pairedRatio } from "./interleave.ts";

describe("interleave", () => {
  it("runs two sides as A B B A A B …, each side's slices in round order", async () => {
    const order: string[] = [];
    const side = (name: string) => ({
      name,
      slice: async (round: number) => {
        order.push(`${name}${round}`);
        return round;
      },
    });
    const out = await interleave(4, [side("A"), side("B")]);
    expect(order).toEqual(["A0", "B0", "B1", "A1", "A2", "B2", "B3", "A3"]);
    expect(out).toEqual({ A: [0, 1, 2, 3], B: [0, 1, 2, 3] });
  });

  it("reverses three sides on odd rounds", async () => {
    const order: string[] = [];
    const side = (name: string) => ({ name, slice: async () => void order.push(name) });
    await interleave(2, [side("A"), side("B"), side("C")]);
    expect(order.join("")).toBe("ABCCBA");
  });
});

describe("pairedRatio", () => {
  it("takes the median of the per-round ratios, not the ratio of the totals", () => {
    // Round 2 ran while the machine was busy: both sides slowed, their ratio held.
    const p = pairedRatio("baseline", "rate", [600, 300, 660], [1000, 500, 1000]);
    expect(p).toEqual({ of: "baseline", metric: "rate", ratio: 0.6, min: 0.6, max: 0.66, rounds: [0.6, 0.6, 0.66] });
  });

  it("leaves out rounds whose reference measured 0, and refuses when none is left", () => {
    expect(pairedRatio("x", "c1_p50", [2, 3], [0, 1]).rounds).toEqual([3]);
    expect(() => pairedRatio("x", "rate", [1], [0])).toThrow(/measured 0/);
    expect(() => pairedRatio("x", "rate", [1, 2], [1])).toThrow(/slices/);
  });

  it("median of an even count is the mean of the middle two", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
