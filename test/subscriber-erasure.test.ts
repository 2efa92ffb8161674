// Erasure (GDPR art. 17): after POST /v1/subscribers/{id}/forget, no table, no cache entry and no
// log line holds the person's email or name. Every text-like column of every table is searched, not
// only the rows the code is expected to touch.
import { env, exports } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PARKED_PREFIX } from "../src/dead-letters/dead-letter.ts";
import { rowsMentioning } from "./erasure-helpers.ts";
import type { OperationBody, SubscriberBody } from "./helpers.ts";
import { bearer, call, captureLogLines, createTestKey, expectProblem, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { updateMessage } from "./queue-helpers.ts";

const db = testDb();
let writer: string;
let eraser: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "erasure-writer");
  eraser = await createTestKey(db, ["subscribers:erase", "subscribers:read"], "erasure-eraser");
});
afterAll(() => db.close());

const lines = captureLogLines();

async function kvEntriesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown> = await env.CACHE.list(cursor ? { cursor } : {});
    for (const k of page.keys) {
      const value = await env.CACHE.get(k.name);
      if (`${k.name}\n${value ?? ""}`.toLowerCase().includes(needle.toLowerCase())) found.push(k.name);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return found;
}

const json = (key: string, extra: Record<string, string> = {}) => ({
  ...bearer(key),
  "Content-Type": "application/json",
  Prefer: "wait=10",
  ...extra,
});

describe("erasure", () => {
  it("leaves no copy of the email or name in any table, cache entry or log line", { timeout: 60_000 }, async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const person = { email: `Erin.${tag}@${uniqueDomain()}`, name: `Erinname${tag}`, last_name: `Erinlast${tag}` };
    const needles = [person.email, `erin.${tag}`, person.name, person.last_name];

    // A life with copies everywhere: an idempotent create, a rename, reads that fill the cache, a list page.
    const created = await call("/v1/subscribers", {
      method: "POST",
      headers: json(writer, { "Idempotency-Key": `create-${tag}` }),
      body: JSON.stringify({ ...person, status: "active" }),
    });
    expect(created.status).toBe(201);
    const { data: subscriber, meta } = await created.json<SubscriberBody>();
    const createOp = (meta.operation as { id: string }).id;
    const renamed = await call(`/v1/subscribers/${subscriber.id}`, {
      method: "PATCH",
      headers: json(writer, { "Idempotency-Key": `rename-${tag}` }),
      body: JSON.stringify({ last_name: `${person.last_name}x` }),
    });
    expect(renamed.status).toBe(200);
    for (const path of [
      `/v1/subscribers/${subscriber.id}`,
      `/v1/subscribers/${encodeURIComponent(person.email)}`,
      "/v1/subscribers?limit=100",
    ])
      expect((await call(path, { headers: bearer(writer) })).status).toBe(200);

    // Dead letters: a malformed message carrying the address, and a change Postgres refuses (a
    // control character in the name) carrying the name.
    await env.SUBSCRIBER_QUEUE.send({ type: "subscriber.create", v: 1, operation_id: uuidv7(), subscriber: { email: person.email } });
    await env.SUBSCRIBER_QUEUE.send(updateMessage(subscriber.id, { name: `${person.name}\u0001` }));
    // And one parked in KV, as the DLQ consumer leaves it while Postgres is unreachable.
    await env.CACHE.put(
      `${PARKED_PREFIX}m-${tag}`,
      JSON.stringify({ queue: "subscriber-writes-dlq", body: JSON.stringify({ email: person.email }) }),
    );
    await waitFor(
      async () =>
        (await rowsMentioning(db, person.email)).includes("dead_letters.body") &&
        (await rowsMentioning(db, person.name)).includes("dead_letters.body"),
      20_000,
      "dead letters stored",
    );
    expect(await rowsMentioning(db, person.email)).toEqual(
      expect.arrayContaining(["subscribers.email", "subscriber_events.data", "dead_letters.body"]),
    );
    expect((await kvEntriesMentioning(person.email)).length).toBeGreaterThan(0);

    const forget = await call(`/v1/subscribers/${encodeURIComponent(person.email)}/forget`, { method: "POST", headers: json(eraser) });
    expect(forget.status).toBe(204);

    // List pages are not in KV (the Cache API keeps them under the snapshot they were read in, which
    // the erasure's commit left behind). Every entry is gone now.
    for (const needle of needles) {
      expect(await rowsMentioning(db, needle), `"${needle}" in a table`).toEqual([]);
      expect(await kvEntriesMentioning(needle), `"${needle}" in KV`).toEqual([]);
      expect(
        lines.filter((l) => l.toLowerCase().includes(needle.toLowerCase())),
        `"${needle}" in a log line`,
      ).toEqual([]);
    }
    expect(lines.length, "the flow logged nothing at all").toBeGreaterThan(0);

    // Reads agree, the create's operation answers 410 (erased, not unknown), and the idempotent
    // create re-sent answers 410 and stores nothing. The operation is asked where no copy of it was
    // kept: a location that read it finished keeps its Cache API copy (ids and a status, nothing
    // personal) for at most 60 s (src/http/operation-cache.ts).
    expect((await call(`/v1/subscribers/${subscriber.id}`, { headers: bearer(writer) })).status).toBe(404);
    expect(await (await call("/v1/subscribers?limit=100", { headers: bearer(writer) })).text()).not.toContain(person.name);
    const elsewhere = new Request(`http://elsewhere.test/v1/operations/${createOp}`, { headers: bearer(writer) });
    await expectProblem(await exports.default.fetch(elsewhere), 410, "gone");
    const replay = await call("/v1/subscribers", {
      method: "POST",
      headers: json(writer, { "Idempotency-Key": `create-${tag}` }),
      body: JSON.stringify({ ...person, status: "active" }),
    });
    await expectProblem(replay, 410, "gone");
    expect((await call(`/v1/subscribers/${encodeURIComponent(person.email)}`, { headers: bearer(writer) })).status).toBe(404);
    for (const needle of needles) expect(await rowsMentioning(db, needle), `"${needle}" in a table after the replay`).toEqual([]);
    // What is kept: the tombstone's keyed hash, never the address.
    const kept = await db.db.execute<{ kind: string; email_hash: string }>(
      sql`select kind, email_hash from subscriber_tombstones where subscriber_id = ${subscriber.id}`,
    );
    expect(kept.rows).toEqual([{ kind: "forgotten", email_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it("an address whose subscriber was deleted earlier is still erased, and a late create for it is refused", {
    timeout: 30_000,
  }, async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const email = `del.${tag}@${uniqueDomain()}`;
    const created = await call("/v1/subscribers", {
      method: "POST",
      headers: json(writer),
      body: JSON.stringify({ email, name: `Delname${tag}`, last_name: "X" }),
    });
    const { data } = await created.json<SubscriberBody>();
    expect((await call(`/v1/subscribers/${data.id}`, { method: "DELETE", headers: json(writer) })).status).toBe(204);
    // The deleted subscriber's events still hold the address until it is erased.
    expect(await rowsMentioning(db, email)).toEqual(["subscriber_events.data"]);
    const forget = await call(`/v1/subscribers/${encodeURIComponent(email)}/forget`, { method: "POST", headers: json(eraser) });
    expect(forget.status).toBe(204);
    expect(await rowsMentioning(db, email)).toEqual([]);
    expect(await rowsMentioning(db, `Delname${tag}`)).toEqual([]);

    const op = await call(`/v1/subscribers/${encodeURIComponent(email)}/forget`, { method: "POST", headers: { ...bearer(eraser) } });
    expect(op.status).toBe(202);
    expect((await op.json<OperationBody>()).data.kind).toBe("subscriber.forget");
  });
});
