import { sql } from "drizzle-orm";
import { describe, expect } from "vitest";
import { deadLetters } from "../src/db/schema.ts";
import { it } from "./harness.ts";
import { databaseDown, uniqueDomain, waitFor } from "./helpers.ts";
import { operationsOf, runBatch } from "./queue-helpers.ts";
import { message, storedIn } from "./subscriber-helpers.ts";

describe("the queue consumer", () => {
  it("a redelivered batch changes nothing", async ({ db }) => {
    const domain = uniqueDomain();
    const bodies = [message(`a@${domain}`), message(`b@${domain}`), message(`B@${domain}`)];
    const first = await runBatch(bodies);
    expect(first.result.explicitAcks).toHaveLength(3);
    const before = await storedIn(db, domain);
    const opsBefore = await operationsOf(
      db,
      bodies.map((b) => b.operation_id),
    );
    expect(before.map((s) => s.email)).toEqual([`a@${domain}`, `b@${domain}`]);

    const again = await runBatch(bodies, { attempts: 2 });
    expect(again.result.explicitAcks).toHaveLength(3);
    expect(await storedIn(db, domain)).toEqual(before);
    const opsAfter = await operationsOf(
      db,
      bodies.map((b) => b.operation_id),
    );
    expect(opsAfter).toEqual(opsBefore);
    expect(opsAfter.find((o) => o.id === bodies[2]!.operation_id)).toMatchObject({
      status: "failed",
      errorCode: "already_exists",
      subscriberId: bodies[1]!.subscriber.id,
    });
  });

  it("a poison message goes to the dead-letter queue and the rest of the batch is stored", async ({ db }) => {
    const domain = uniqueDomain();
    const poison = { type: "subscriber.create", v: 1, subscriber: { email: "not-an-email" } };
    const { batch, result } = await runBatch([message(`p1@${domain}`), poison, message(`p2@${domain}`)]);
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toHaveLength(0);
    expect((await storedIn(db, domain)).map((s) => s.email)).toEqual([`p1@${domain}`, `p2@${domain}`]);
    const poisonId = batch.messages[1]!.id;
    const row = await waitFor(async () => (await db.db.select().from(deadLetters).where(sql`${deadLetters.messageId} = ${poisonId}`))[0]);
    expect(row.reason).toMatch(/^invalid_message: .*operation_id/);
    expect(JSON.parse(row.body)).toEqual(poison);
  });

  it("with the database down, retries every message with backoff; stores them once it is back", async ({ db }) => {
    const domain = uniqueDomain();
    const bodies = [message(`d1@${domain}`), message(`d2@${domain}`)];
    const down = await databaseDown(() => runBatch(bodies));
    expect(down.result.explicitAcks).toHaveLength(0);
    expect(down.result.retryMessages).toHaveLength(2);
    expect(down.result.retryMessages.map((m) => m.msgId).sort()).toEqual(down.batch.messages.map((m) => m.id).sort());
    expect(await storedIn(db, domain)).toHaveLength(0);

    const up = await runBatch(bodies, { attempts: 2 });
    expect(up.result.explicitAcks).toHaveLength(2);
    expect((await storedIn(db, domain)).map((s) => s.email)).toEqual([`d1@${domain}`, `d2@${domain}`]);
  });
});
