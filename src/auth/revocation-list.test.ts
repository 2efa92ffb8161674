import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { asRevocationList, revocationListOf, sameList, standingOf } from "./revocation-list.ts";

const held = (ids: string[], before: string | null) => ({ revoked: new Set(ids), before });

describe("the revocation list", () => {
  it("holds every revoked id while there are at most max of them", () => {
    const ids = [uuidv7(), uuidv7()].reverse();
    expect(revocationListOf(ids, 2)).toEqual({ ids, before: null });
  });

  it("past max keeps the newest and hands older keys to the lookup by hash, revoked or not", () => {
    const [a, b, c, d] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()] as [string, string, string, string];
    const list = revocationListOf([d, c, b], 2);
    expect(list).toEqual({ ids: [d, c], before: c });
    const h = held(list.ids, list.before);
    expect(standingOf(h, d)).toBe("revoked");
    expect(standingOf(h, c)).toBe("revoked");
    // b was revoked and dropped from the list: never "valid", it goes to Postgres.
    expect(standingOf(h, b)).toBe("uncovered");
    expect(standingOf(h, a)).toBe("uncovered");
    const newer = uuidv7();
    expect(standingOf(h, newer)).toBe("valid");
  });

  it("compares lists by what they say and reads only well-formed stored lists", () => {
    const id = uuidv7();
    expect(sameList({ ids: [id], before: null }, { ids: [id], before: null })).toBe(true);
    expect(sameList({ ids: [id], before: null }, { ids: [], before: null })).toBe(false);
    expect(sameList({ ids: [id], before: null }, { ids: [id], before: id })).toBe(false);
    expect(asRevocationList({ ids: [id], before: null })).toEqual({ ids: [id], before: null });
    expect(asRevocationList({ ids: [1], before: null })).toBeNull();
    expect(asRevocationList(null)).toBeNull();
    expect(asRevocationList({ ids: [], before: 3 })).toBeNull();
  });
});
