import { describe, expect, it } from "vitest";
import { deadLetter, toDeadLetterRow } from "./dead-letter.ts";

const message = (body: unknown) => ({ id: "m-1", timestamp: new Date(), attempts: 3, body }) as unknown as Message<unknown>;
const hasNul = (s: string) => s.includes("\u0000");

describe("toDeadLetterRow", () => {
  it("keeps any JSON body whole as text that holds no NUL, and reads back equal", () => {
    const body = { subscriber: { name: "Mallory\u0000", last_name: "\ud800", note: "\u202e" } };
    const row = toDeadLetterRow("q", message(body));
    expect(row).toMatchObject({ queue: "q", messageId: "m-1", bodyFormat: "json", attempts: 3, reason: "retries_exhausted" });
    expect(hasNul(row.body)).toBe(false);
    expect(JSON.parse(row.body)).toEqual(body);
  });

  it("keeps bytes as base64 and what JSON cannot express as its string form", () => {
    expect(toDeadLetterRow("q", message(new Uint8Array([0, 255, 1]))).body).toBe("AP8B");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toDeadLetterRow("q", message(cyclic))).toMatchObject({ bodyFormat: "text", body: JSON.stringify("[object Object]") });
  });

  it("an envelope's own fields cannot make the row unstorable either", () => {
    const row = toDeadLetterRow("q", message({ kind: "dead_letter", reason: "x\u0000y", message_id: "id\u0000", attempts: 1, body: null }));
    expect([row.reason, row.messageId].some(hasNul)).toBe(false);
    expect(row.body).toBe("null");
  });

  it("a poison message's body survives the trip through the dead-letter queue whatever it is", () => {
    for (const body of [new Uint8Array([0, 255, 1]), { name: "Mallory\u0000" }, "plain text"]) {
      const envelope = deadLetter(message(body), "invalid_data: test");
      const row = toDeadLetterRow("dlq", message(envelope));
      expect(row).toEqual({ ...toDeadLetterRow("dlq", message(body)), queue: "dlq", reason: "invalid_data: test", attempts: 3 });
    }
  });
});
