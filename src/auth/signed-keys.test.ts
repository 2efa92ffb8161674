import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import type { Principal } from "./principal.ts";
import { isSignedForm, mintSignedKey, verifySignedKey } from "./signed-keys.ts";

const SECRET = "unit-test-signing-secret-0123456789abcdef";
const principal = (over: Partial<Principal> = {}): Principal => ({
  keyId: uuidv7(),
  scopes: ["subscribers:read", "webhooks:manage"],
  rateLimit: { limit: 100, periodSeconds: 60 },
  ...over,
});

describe("signed API keys", () => {
  it("a minted key verifies to exactly what it was minted with", async () => {
    for (const p of [principal(), principal({ scopes: ["admin"], rateLimit: null })]) {
      const key = await mintSignedKey(SECRET, "production", p);
      expect(key).toMatch(/^sk_live_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{35}$/);
      expect(isSignedForm(key)).toBe(true);
      expect(await verifySignedKey(SECRET, key)).toEqual(p);
    }
    expect(await mintSignedKey(SECRET, "test", principal())).toMatch(/^sk_test_/);
  });

  it("keys minted together differ in their first 12 characters (the stored prefix)", async () => {
    const keys = await Promise.all(Array.from({ length: 20 }, () => mintSignedKey(SECRET, "test", principal())));
    expect(new Set(keys.map((k) => k.slice(0, 12))).size).toBeGreaterThan(15);
  });

  it("refuses another secret, any changed character, another prefix and malformed keys", async () => {
    const key = await mintSignedKey(SECRET, "test", principal());
    expect(await verifySignedKey(`${SECRET}x`, key)).toBeUndefined();
    const dot = key.indexOf(".");
    for (const i of [8, dot - 1, dot + 1, key.length - 1]) {
      const ch = key[i] === "A" ? "B" : "A";
      expect(await verifySignedKey(SECRET, key.slice(0, i) + ch + key.slice(i + 1)), `char ${i}`).toBeUndefined();
    }
    expect(await verifySignedKey(SECRET, key.replace("sk_test_", "sk_live_"))).toBeUndefined();
    for (const bad of ["", "sk_test_abc", `${key}x`, key.replace(".", ""), `sk_test_${"A".repeat(43)}.${"A".repeat(35)}`]) {
      expect(await verifySignedKey(SECRET, bad)).toBeUndefined();
    }
  });

  it("a legacy key (32 random bytes, no dot) is not of the signed form", () => {
    expect(isSignedForm(`sk_live_${"a".repeat(43)}`)).toBe(false);
  });
});
