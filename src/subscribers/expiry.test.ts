import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import type { Config } from "../config/index.ts";
import { acceptedAt, expireIfLost, pendingLimitMs } from "./expiry.ts";
import type { Operation } from "./schema.ts";

// A budget of 1 + 2 + 2 = 5 s and a retention of 60 s: 65 s in all.
const config = { queueRetry: { baseSeconds: 1, maxDelaySeconds: 2, maxRetries: 3 }, queueRetentionSeconds: 60 } as unknown as Config;
const pending = (id: string): Operation => ({
  id,
  kind: "subscriber.create",
  status: "pending",
  subscriber_id: null,
  subscriber_version: null,
  error: null,
  completed_at: null,
});

describe("pending operations past the retry budget and the queue's retention", () => {
  it("reads the acceptance time out of the UUIDv7 id", () => {
    const at = Date.UTC(2026, 11, 7, 1, 2, 3, 456);
    expect(acceptedAt(uuidv7({ msecs: at }))).toBe(at);
  });

  it("stay pending up to the limit, then read as failed with code expired", () => {
    expect(pendingLimitMs(config)).toBe(65_000);
    const at = Date.UTC(2026, 11, 7);
    const op = pending(uuidv7({ msecs: at }));
    expect(expireIfLost(op, config, at + 65_000)).toBe(op);
    const expired = expireIfLost(op, config, at + 65_001);
    expect(expired).toMatchObject({ status: "failed", error: { code: "expired" }, completed_at: new Date(at + 65_000).toISOString() });
    expect(expired.error?.message).toMatch(/Send the request again/);
  });

  it("leave finished operations as they are", () => {
    const done = { ...pending(uuidv7({ msecs: 0 })), status: "succeeded" as const };
    expect(expireIfLost(done, config, Date.now())).toBe(done);
  });
});
