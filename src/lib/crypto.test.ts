import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex, timingSafeEqualStr } from "./crypto.ts";

describe("crypto helpers", () => {
  it("sha256Hex gives the standard digests (FIPS 180-2 vectors), lower-case hex", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("timingSafeEqualStr compares content and length", () => {
    expect(timingSafeEqualStr("abc", "abc")).toBe(true);
    expect(timingSafeEqualStr("abc", "abd")).toBe(false);
    expect(timingSafeEqualStr("abc", "abcd")).toBe(false);
  });

  it("canonicalJson sorts object keys at every depth, not arrays", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
