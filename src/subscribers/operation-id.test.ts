import { describe, expect, it } from "vitest";
import { z } from "zod";
import { acceptedAt } from "./expiry.ts";
import { keyedOperationId, keyedRoot, keyedVariants, signedOperationId, verifyOperationId } from "./operation-id.ts";

const KEY = "k".repeat(32);

describe("operation ids the edge verifies without storage", () => {
  it("a signed id is a UUIDv7 of its acceptance time, names its kind, and verifies", async () => {
    const now = Date.UTC(2026, 11, 8);
    const id = await signedOperationId(KEY, "subscriber.delete", now);
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe("7");
    expect(acceptedAt(id)).toBe(now);
    expect(await verifyOperationId(KEY, id)).toEqual({ form: "signed", kind: "subscriber.delete", acceptedAt: now });
    // Under another secret the tag does not hold: an id from before, or not ours.
    expect(await verifyOperationId("x".repeat(32), id)).toEqual({ form: "unsigned" });
  });

  it("signed ids keep the order of acceptance and do not repeat", async () => {
    const a = await signedOperationId(KEY, "subscriber.update", 1_000);
    const b = await signedOperationId(KEY, "subscriber.create", 1_001);
    expect(a < b).toBe(true);
    const many = await Promise.all(Array.from({ length: 500 }, () => signedOperationId(KEY, "subscriber.create", 5)));
    expect(new Set(many).size).toBe(500);
  });

  it("a changed digit breaks the tag: a forged id is told apart without storage", async () => {
    const id = await signedOperationId(KEY, "subscriber.create");
    const last = id.at(-1) === "0" ? "1" : "0";
    expect(await verifyOperationId(KEY, id.slice(0, -1) + last)).toEqual({ form: "unsigned" });
    const keyed = await keyedOperationId(KEY, "subscriber.create", "key-1", "abc");
    expect(await verifyOperationId(KEY, keyed.slice(0, -1) + (keyed.at(-1) === "0" ? "1" : "0"))).toEqual({ form: "unknown" });
    expect(await verifyOperationId(KEY, crypto.randomUUID())).toEqual({ form: "unknown" });
  });

  it("a keyed id is the same wherever it is computed, per API key and Idempotency-Key", async () => {
    const a = await keyedOperationId(KEY, "subscriber.update", "key-1", "retry-me");
    expect(await keyedOperationId(KEY, "subscriber.update", "key-1", "retry-me")).toBe(a);
    expect(a[14]).toBe("8");
    expect(z.uuid().safeParse(a).success).toBe(true);
    expect(await verifyOperationId(KEY, a)).toEqual({ form: "keyed", kind: "subscriber.update" });
    expect(await keyedOperationId(KEY, "subscriber.update", "key-2", "retry-me")).not.toBe(a);
    expect(await keyedOperationId(KEY, "subscriber.update", "key-1", "retry-me2")).not.toBe(a);
    // No ambiguity between an API key id and the Idempotency-Key it is joined with.
    expect(await keyedOperationId(KEY, "subscriber.update", "key-1:x", "y")).not.toBe(
      await keyedOperationId(KEY, "subscriber.update", "key-1", "x:y"),
    );
  });

  it("the same key for another kind of write: another id, the same root, found among the variants", async () => {
    const update = await keyedOperationId(KEY, "subscriber.update", "key-1", "k");
    const remove = await keyedOperationId(KEY, "subscriber.delete", "key-1", "k");
    expect(remove).not.toBe(update);
    expect(keyedRoot(remove)).toBe(keyedRoot(update));
    const variants = await keyedVariants(KEY, update);
    expect(variants).toHaveLength(4);
    expect(variants).toContain(update);
    expect(variants).toContain(remove);
    for (const v of variants) expect((await verifyOperationId(KEY, v)).form).toBe("keyed");
  });
});
