// A write whose message is gone (a local queue restarted without its journal) never stays pending:
// past the retry budget and the queue's retention, its operation reads as failed, code `expired`.
import { env } from "cloudflare:workers";
import { v7 as uuidv7 } from "uuid";
import { describe, expect } from "vitest";
import type { Operation } from "../src/subscribers/schema.ts";
import { it } from "./harness.ts";
import type { OperationBody } from "./helpers.ts";
import { appWith, bearer } from "./helpers.ts";

describe("an operation pending past the retry budget and the queue's retention", () => {
  it("reads as failed with code expired and a reason to send the request again; a younger one stays pending", async ({ reader }) => {
    // The suite's budget is 11 s; with a retention of 60 s, 71 s in all.
    const app = appWith({ QUEUE_RETENTION_SECONDS: "60" });
    const pending = (id: string): Operation => ({
      id,
      kind: "subscriber.create",
      status: "pending",
      subscriber_id: crypto.randomUUID(),
      subscriber_version: null,
      error: null,
      completed_at: null,
    });
    const old = uuidv7({ msecs: Date.now() - 80_000 });
    const young = uuidv7({ msecs: Date.now() - 30_000 });
    for (const id of [old, young]) await env.CACHE.put(`op:v1:${id}`, JSON.stringify({ v: pending(id) }));

    const expired = await app(`/v1/operations/${old}`, { headers: bearer(reader) });
    expect(expired.status).toBe(200);
    const { data } = await expired.json<OperationBody>();
    expect(data).toMatchObject({ status: "failed", error: { code: "expired" } });
    expect(data.error?.message).toMatch(/nothing was stored\. Send the request again\./);
    expect(data.completed_at).not.toBeNull();

    const still = await app(`/v1/operations/${young}`, { headers: bearer(reader) });
    expect((await still.json<OperationBody>()).data.status).toBe("pending");
  });
});
