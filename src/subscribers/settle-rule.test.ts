import { describe, expect, it } from "vitest";
import { decide } from "./settle-rule.ts";

const now = 1_800_000_000_000;
const fresh = Math.floor(now / 1000) + 60;
const past = Math.floor(now / 1000) - 1;
const held = (value: unknown) => ({ ok: true as const, value });
const copy = (version: number, f?: number) => held({ v: { id: "s", version }, ...(f === undefined ? {} : { f }) });

describe("what the consumer does to one cache key after a change", () => {
  it("a stored subscriber: an absent key stays absent, the same or a newer copy stays", () => {
    expect(decide(held(null), { version: 3 }, now)).toBe("keep");
    expect(decide(copy(3, fresh), { version: 3 }, now)).toBe("keep");
    expect(decide(copy(4, fresh), { version: 3 }, now)).toBe("keep");
  });

  it("a stored subscriber: a fresh older copy or a cached absence is replaced; a copy past its freshness is left", () => {
    expect(decide(copy(2, fresh), { version: 3 }, now)).toBe("put");
    expect(decide(copy(2), { version: 3 }, now)).toBe("put");
    expect(decide(held({ m: 1 }), { version: 1 }, now)).toBe("put");
    expect(decide(copy(2, past), { version: 3 }, now)).toBe("keep");
  });

  it("a removed subscriber: every copy goes, fresh or not; nothing is written for an absent key", () => {
    expect(decide(copy(2, fresh), undefined, now)).toBe("delete");
    expect(decide(copy(2, past), undefined, now)).toBe("delete");
    expect(decide(held({ m: 1 }), undefined, now)).toBe("keep");
    expect(decide(held(null), undefined, now)).toBe("keep");
  });

  it("a failed read counts as wrong", () => {
    expect(decide({ ok: false }, { version: 1 }, now)).toBe("put");
    expect(decide({ ok: false }, undefined, now)).toBe("delete");
  });
});
