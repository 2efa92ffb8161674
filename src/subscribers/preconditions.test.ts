import { describe, expect, it } from "vitest";
import { DomainError } from "../lib/errors.ts";
import { cannotHold, ifMatchFields, parseIfMatch, preconditionHolds } from "./preconditions.ts";

describe("parseIfMatch", () => {
  it("reads *, one version, a list, and drops what can never match strongly", () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch("*")).toEqual({ any: true });
    expect(parseIfMatch('"3"')).toEqual({ versions: [3] });
    expect(parseIfMatch('"2", "1"')).toEqual({ versions: [1, 2] });
    expect(parseIfMatch('W/"3"')).toEqual({ versions: [] });
    expect(parseIfMatch('W/"3", "4", "abc", "0"')).toEqual({ versions: [4] });
  });

  it("answers 422 only for malformed syntax", () => {
    for (const bad of ["3", '"3', "W/3", '"1" "2"', "", '*, "1"']) {
      expect(() => parseIfMatch(bad), bad).toThrow(DomainError);
    }
  });
});

describe("decisions", () => {
  it("a list the known version has passed, or one with no version of ours, cannot hold", () => {
    expect(cannotHold(parseIfMatch('W/"3"'), 3)).toBe(true);
    expect(cannotHold(parseIfMatch('"1", "2"'), 3)).toBe(true);
    expect(cannotHold(parseIfMatch('"1", "3"'), 3)).toBe(false);
    expect(cannotHold(parseIfMatch('"9"'), 3)).toBe(false);
    expect(cannotHold(parseIfMatch("*"), 3)).toBe(false);
    expect(cannotHold(undefined, 3)).toBe(false);
  });

  it("one version travels as if_match (older consumers read it), several as if_match_any", () => {
    expect(ifMatchFields(parseIfMatch('"3"'))).toEqual({ if_match: 3 });
    expect(ifMatchFields(parseIfMatch('"3", "1"'))).toEqual({ if_match_any: [1, 3] });
    expect(ifMatchFields(parseIfMatch("*"))).toEqual({});
  });

  it("the consumer applies when the current version is any listed one", () => {
    expect(preconditionHolds({}, 5)).toBe(true);
    expect(preconditionHolds({ if_match: 5 }, 5)).toBe(true);
    expect(preconditionHolds({ if_match: 4 }, 5)).toBe(false);
    expect(preconditionHolds({ if_match_any: [1, 5] }, 5)).toBe(true);
    expect(preconditionHolds({ if_match_any: [1, 2] }, 5)).toBe(false);
  });
});
