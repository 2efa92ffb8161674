// Two deletes of one subscriber delivered newest first, with a create of the same address accepted
// between them: in the accepted order the address was free from the older delete on, so the create
// stands. Found by the mixed-traffic reliability test (test/reliability/lifecycle-load.test.ts).
import { v7 as uuidv7 } from "uuid";
import { describe, expect } from "vitest";
import { it } from "./harness.ts";
import { uniqueDomain } from "./helpers.ts";
import { deleteMessage, operationsOf, runBatch } from "./queue-helpers.ts";
import { message, storedIn } from "./subscriber-helpers.ts";

describe("two deletes of one subscriber, the newer delivered first", () => {
  it("a create accepted between them is stored; one accepted before the older delete is still refused", async ({ db }) => {
    const domain = uniqueDomain();
    const email = `twice@${domain}`;
    const first = message(email, { name: "First" });
    await runBatch([first]);
    const before = message(email, { name: "Before" });
    const older = deleteMessage(first.subscriber.id);
    const between = message(email, { name: "Between" });
    const newer = deleteMessage(first.subscriber.id, { operationId: uuidv7() });
    expect([before, older, between, newer].map((m) => m.operation_id)).toEqual(
      [before, older, between, newer].map((m) => m.operation_id).sort(),
    );

    await runBatch([newer]);
    await runBatch([older]);
    await runBatch([before]);
    await runBatch([between]);

    const outcomes = new Map((await operationsOf(db, [before.operation_id, between.operation_id])).map((o) => [o.id, o.status]));
    expect(outcomes.get(before.operation_id)).toBe("superseded");
    expect(outcomes.get(between.operation_id)).toBe("succeeded");
    expect((await storedIn(db, domain)).map((s) => [s.id, s.name])).toEqual([[between.subscriber.id, "Between"]]);
  });
});
