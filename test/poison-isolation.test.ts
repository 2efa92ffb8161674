// One bad message never fails its neighbours: the edge refuses names outside the policy, and a
// message that bypassed the edge is isolated by the consumer (bisection), its operation failed with
// a code and its body kept as a dead letter, while every valid message beside it is stored once.
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deadLetters, operations } from "../src/db/schema.ts";
import type { DeadLetter } from "../src/dead-letters/schema.ts";
import type { Envelope, OperationBody, Problem } from "./helpers.ts";
import { bearer, call, createTestKey, postJson, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { operationsOf, runBatch, storedIn, subscriberMessage, waitForOperations } from "./queue-helpers.ts";

const db = testDb();
let writer: string;
let admin: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "poison-writer");
  admin = await createTestKey(db, ["admin"], "poison-admin");
});
afterAll(() => db.close());

/** Names Postgres itself refuses: NUL cannot be stored in text (22021), the rest break the CHECK (23514). */
const REFUSED_BY_POSTGRES = ["Mallory\u0000", "Eve\u001b[31m", "Line\r\nBreak", "Trudy\u202Egnp.exe", "Del\u007F", "C1\u0085"];

const deadLettersOf = (operationIds: string[]) =>
  db.db
    .select()
    .from(deadLetters)
    .then((rows) => rows.filter((r) => operationIds.some((id) => r.body.includes(id))));

describe("poison isolation in the consumer", () => {
  it("messages Postgres refuses, sent straight to the real queue among valid ones: valid stored once, poison failed and dead-lettered, nothing pending", {
    timeout: 60_000,
  }, async () => {
    const domain = uniqueDomain();
    const valid = Array.from({ length: 30 }, (_, i) => subscriberMessage(`ok${i}@${domain}`));
    const poison = REFUSED_BY_POSTGRES.map((name, i) => subscriberMessage(`bad${i}@${domain}`, i % 2 ? { last_name: name } : { name }));
    // Interleaved, and in one sendBatch so they arrive in one consumer batch.
    const all = valid.flatMap((m, i) => (poison[i] ? [m, poison[i]] : [m]));
    await env.SUBSCRIBER_QUEUE.sendBatch(all.map((body) => ({ body, contentType: "json" as const })));

    const outcomes = await waitForOperations(
      db,
      all.map((m) => m.operation_id),
    );
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    for (const m of valid) expect(byId.get(m.operation_id)).toMatchObject({ status: "succeeded", subscriberId: m.subscriber.id });
    for (const m of poison) expect(byId.get(m.operation_id)).toMatchObject({ status: "failed", errorCode: "invalid_data" });
    const rows = await storedIn(db, domain);
    expect(rows.map((r) => r.email).sort()).toEqual(valid.map((m) => m.subscriber.email).sort());

    const letters = await waitFor(
      async () => {
        const found = await deadLettersOf(poison.map((m) => m.operation_id));
        return found.length === poison.length ? found : undefined;
      },
      20_000,
      "every poison message in dead_letters",
    );
    for (const letter of letters) {
      expect(letter.reason).toMatch(/^invalid_data: database refused the data \(SQLSTATE (22021|23514)\)$/);
      // The raw body survives whole, NUL included.
      const body = JSON.parse(letter.body) as { operation_id: string; subscriber: { name: string; last_name: string } };
      const sent = poison.find((m) => m.operation_id === body.operation_id)!;
      expect(body.subscriber).toEqual(sent.subscriber);
    }

    // Read through the API: the operation says why, with its code.
    const op = await call(`/v1/operations/${poison[0]!.operation_id}`, { headers: bearer(writer) });
    expect(await op.json()).toMatchObject({ data: { status: "failed", error: { code: "invalid_data" } } });
  });

  it("a batch of 100 with three poison messages: 97 stored in a handful of transactions, every message acked, none retried", async () => {
    const domain = uniqueDomain();
    const bodies = Array.from({ length: 100 }, (_, i) =>
      subscriberMessage(`b${i}@${domain}`, [7, 50, 93].includes(i) ? { name: `x\u0000${i}` } : {}),
    );
    const warn = vi.spyOn(console, "warn");
    const { result } = await runBatch(bodies);
    const line = warn.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>).find((l) => l.event === "queue_batch");
    warn.mockRestore();
    // Bisection: the whole set, then halves down to each culprit, never one transaction per message.
    expect(line).toMatchObject({ valid: 100, poison: 3, inserted: 97, retried: 0 });
    expect(line!.transactions).toBeGreaterThan(1);
    expect(line!.transactions).toBeLessThanOrEqual(1 + 3 * 2 * Math.ceil(Math.log2(100)));
    expect(result.retryMessages).toHaveLength(0);
    expect(result.explicitAcks).toHaveLength(100);
    expect((await storedIn(db, domain)).length).toBe(97);
    const outcomes = await operationsOf(
      db,
      bodies.map((b) => b.operation_id),
    );
    expect(outcomes.filter((o) => o.status === "failed").map((o) => o.errorCode)).toEqual(["invalid_data", "invalid_data", "invalid_data"]);
  });

  it("a duplicate email whose first message is poison: the valid duplicate becomes the owner", async () => {
    const domain = uniqueDomain();
    const bad = subscriberMessage(`same@${domain}`, { name: "\u0000" });
    const good = subscriberMessage(`SAME@${domain}`);
    const { result } = await runBatch([bad, good]);
    expect(result.explicitAcks).toHaveLength(2);
    const rows = await storedIn(db, domain);
    expect(rows.map((r) => r.id)).toEqual([good.subscriber.id]);
  });

  it("the same message twice in one batch (a redelivery beside a replay): stored once, both acked, nothing retried", async () => {
    const domain = uniqueDomain();
    const message = subscriberMessage(`twice@${domain}`);
    const neighbour = subscriberMessage(`neighbour@${domain}`);
    const { result } = await runBatch([message, neighbour, message]);
    expect(result.retryMessages).toHaveLength(0);
    expect(result.explicitAcks).toHaveLength(3);
    expect((await storedIn(db, domain)).map((r) => r.id).sort()).toEqual([message.subscriber.id, neighbour.subscriber.id].sort());
  });

  it("a message that reuses a stored subscriber's id with another email is refused by the primary key and isolated", async () => {
    const domain = uniqueDomain();
    const first = subscriberMessage(`first@${domain}`);
    await runBatch([first]);
    const reuse = subscriberMessage(`other@${domain}`, { id: first.subscriber.id });
    const neighbours = [subscriberMessage(`n1@${domain}`), subscriberMessage(`n2@${domain}`)];
    const { result } = await runBatch([neighbours[0], reuse, neighbours[1]]);
    expect(result.retryMessages).toHaveLength(0);
    expect(result.explicitAcks).toHaveLength(3);
    expect((await storedIn(db, domain)).map((r) => r.email).sort()).toEqual([`first@${domain}`, `n1@${domain}`, `n2@${domain}`]);
    const [outcome] = await operationsOf(db, [reuse.operation_id]);
    expect(outcome).toMatchObject({ status: "failed", errorCode: "invalid_data" });
  });

  it("a structurally invalid message that names its operation: the operation fails with invalid_data instead of staying pending", async () => {
    const operationId = crypto.randomUUID();
    const { result } = await runBatch([{ type: "subscriber.create", v: 1, operation_id: operationId, subscriber: { email: 42 } }]);
    expect(result.explicitAcks).toHaveLength(1);
    const [row] = await operationsOf(db, [operationId]);
    expect(row).toMatchObject({ status: "failed", errorCode: "invalid_data", subscriberId: null });
  });
});

describe("the edge closes the same class of input", () => {
  it("the reported repro (valid, NUL name, valid within a second): 422 naming the field for the NUL, both valid ones stored", async () => {
    const domain = uniqueDomain();
    const send = (email: string, name: string) => postJson("/v1/subscribers", { email, name, last_name: "Doe" }, bearer(writer));
    const [a, nul, b] = await Promise.all([send(`a@${domain}`, "Alice"), send(`m@${domain}`, "Mallory\u0000"), send(`b@${domain}`, "Bob")]);
    expect(nul.status).toBe(422);
    expect((await nul.json<Problem>()).errors?.map((e) => e.field)).toEqual(["name"]);
    const ops = await Promise.all(
      [a, b].map(async (r) => {
        expect(r.status).toBe(202);
        return (await r.json<OperationBody>()).data.id;
      }),
    );
    const outcomes = await waitForOperations(db, ops);
    expect(outcomes.every((o) => o.status === "succeeded")).toBe(true);
    for (const email of [`a@${domain}`, `b@${domain}`]) {
      expect((await call(`/v1/subscribers/${email}`, { headers: bearer(writer) })).status).toBe(200);
    }
  });

  const refused: Array<[string, string]> = [
    ["NUL", "Mallory\u0000"],
    ["C0 escape", "Eve\u001b[2J"],
    ["CR/LF", "Line\r\nBreak"],
    ["tab", "Tab\there"],
    ["C1", "Next\u0085Line"],
    ["DEL", "Del\u007f"],
    ["right-to-left override", "Trudy\u202Egnp.exe"],
    ["left-to-right isolate", "Iso\u2066late"],
    ["line separator", "A\u2028B"],
    ["only zero-width spaces", "\u200B\u200B"],
    ["only a Hangul filler", "\u3164"],
    ["only a zero-width joiner and spaces", " \u200D "],
    ["only combining marks", "\u0301\u0302"],
    ["a lone surrogate", "Bad\uD800"],
  ];
  it.each(refused)("422 for a name with %s", async (_what, name) => {
    const res = await postJson("/v1/subscribers", { email: `x@${uniqueDomain()}`, name: "Fine", last_name: name }, bearer(writer));
    expect(res.status).toBe(422);
    const problem = await res.json<Problem>();
    expect(problem.errors?.map((e) => e.field)).toEqual(["last_name"]);
  });

  it("names are stored NFC: a decomposed é is stored composed; marks, emoji and right-to-left scripts are accepted", async () => {
    const domain = uniqueDomain();
    const names = ["Zoe\u0301", "\u05D3\u05B8\u05D5\u05B4\u05D3", "Ana\u200EMar\u00EDa", "Jos\u00E9 \u{1F600}", "\u0645\u062D\u0645\u062F"];
    const ops: string[] = [];
    for (const [i, name] of names.entries()) {
      const res = await postJson("/v1/subscribers", { email: `n${i}@${domain}`, name, last_name: "X" }, bearer(writer));
      expect(res.status, name).toBe(202);
      ops.push((await res.json<OperationBody>()).data.id);
    }
    await waitForOperations(db, ops);
    const stored = await storedIn(db, domain);
    expect(stored.map((r) => r.name)).toEqual(names.map((n) => n.normalize("NFC")));
    expect(stored[0]!.name).toBe("Zo\u00E9");
  });
});

describe("dead letters replayed by an admin", () => {
  it("lists dead letters and replays one whose data is storable now: its operation turns from failed to succeeded", async () => {
    const domain = uniqueDomain();
    const message = subscriberMessage(`replay@${domain}`);
    // As if the database had refused it once (for example under a constraint since relaxed).
    await db.db.insert(operations).values({
      id: message.operation_id,
      kind: "subscriber.create",
      status: "failed",
      subscriberId: message.subscriber.id,
      errorCode: "invalid_data",
    });
    const [letter] = await db.db
      .insert(deadLetters)
      .values({
        queue: "subscriber-writes-dlq",
        messageId: `replay-${message.operation_id}`,
        body: JSON.stringify(message),
        reason: "invalid_data: test",
        attempts: 1,
      })
      .returning();

    const list = await call("/v1/admin/dead-letters?limit=100", { headers: bearer(admin) });
    expect(list.status).toBe(200);
    expect(list.headers.get("cache-control")).toBe("no-store");
    expect((await list.json<Envelope<DeadLetter[]>>()).data.map((d) => d.id)).toContain(letter!.id);

    const replay = await postJson("/v1/admin/dead-letters/replay", { ids: [letter!.id] }, bearer(admin));
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ data: { replayed: [letter!.id], skipped: [] } });
    await waitFor(
      async () => (await operationsOf(db, [message.operation_id]))[0]?.status === "succeeded",
      20_000,
      "the replayed write's new outcome",
    );
    expect((await storedIn(db, domain)).map((r) => r.id)).toEqual([message.subscriber.id]);
    const [after] = await db.db
      .select()
      .from(deadLetters)
      .where(inArray(deadLetters.id, [letter!.id]));
    expect(after!.replayedAt).toBeInstanceOf(Date);
    // Replaying it again does nothing: it is no longer pending.
    expect(await (await postJson("/v1/admin/dead-letters/replay", { ids: [letter!.id] }, bearer(admin))).json()).toMatchObject({
      data: { replayed: [] },
    });
  });

  it("the dead-letter routes answer 403 to a key without admin and 404 without a key, as every admin route does", async () => {
    expect((await call("/v1/admin/dead-letters", { headers: bearer(writer) })).status).toBe(403);
    expect((await call("/v1/admin/dead-letters")).status).toBe(404);
  });
});
