import { describe, expect, it } from "vitest";
import { parseEntityTags, strongMatch, weakMatch } from "./entity-tags.ts";

describe("parseEntityTags", () => {
  it("reads *, one tag, weak tags and lists with optional whitespace and empty elements", () => {
    expect(parseEntityTags(" * ")).toEqual({ any: true });
    expect(parseEntityTags('"3"')).toEqual({ any: false, tags: [{ weak: false, opaque: '"3"' }] });
    expect(parseEntityTags('W/"3"')).toEqual({ any: false, tags: [{ weak: true, opaque: '"3"' }] });
    expect(parseEntityTags('"1", "2",W/"x" ,, ')).toEqual({
      any: false,
      tags: [
        { weak: false, opaque: '"1"' },
        { weak: false, opaque: '"2"' },
        { weak: true, opaque: '"x"' },
      ],
    });
  });

  it("keeps commas inside a tag", () => {
    expect(parseEntityTags('"a,b", "c"')).toEqual({
      any: false,
      tags: [
        { weak: false, opaque: '"a,b"' },
        { weak: false, opaque: '"c"' },
      ],
    });
  });

  it("refuses what is not a list of entity-tags", () => {
    for (const bad of ["3", '"3', '"3" "4"', 'w/"3"', '"a b"', "", " , ", '*, "3"', '"3"x'])
      expect(parseEntityTags(bad), bad).toBeUndefined();
  });
});

describe("comparison", () => {
  const [strong, weak] = [
    { weak: false, opaque: '"3"' },
    { weak: true, opaque: '"3"' },
  ];
  it("strong: a weak tag on either side never matches", () => {
    expect(strongMatch(strong, '"3"')).toBe(true);
    expect(strongMatch(weak, '"3"')).toBe(false);
    expect(strongMatch(strong, 'W/"3"')).toBe(false);
    expect(strongMatch(strong, '"4"')).toBe(false);
  });
  it("weak: the W/ prefixes are ignored", () => {
    expect(weakMatch(weak, '"3"')).toBe(true);
    expect(weakMatch(strong, 'W/"3"')).toBe(true);
    expect(weakMatch(strong, '"4"')).toBe(false);
  });
});
