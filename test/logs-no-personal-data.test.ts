// No personal data in any log line: every failure path is driven with distinctive emails and names,
// with LOG_LEVEL=debug so that nothing is filtered out, and every line written is searched for them.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/http/app.ts";
import { bearer, captureLogLines, createTestKey, databaseDown, testDb, uniqueDomain } from "./helpers.ts";
import { runBatch, subscriberMessage } from "./queue-helpers.ts";

const verbose = { ...env, LOG_LEVEL: "debug" } as Env;
const db = testDb();
let writer: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "logs-writer");
});
afterAll(() => db.close());

const lines = captureLogLines();

/** Distinctive personal data for one test, and the check that none of it was logged. */
function persona() {
  const tag = crypto.randomUUID().slice(0, 8);
  const domain = uniqueDomain();
  const p = { email: `zelda.${tag}@${domain}`, name: `Zeldaname${tag}`, last_name: `Lastname${tag}` };
  return {
    ...p,
    assertNotLogged() {
      expect(lines.length, "the failure path wrote no log line at all").toBeGreaterThan(0);
      for (const needle of [p.email, `zelda.${tag}`, p.name, p.last_name, tag]) {
        const hits = lines.filter((l) => l.toLowerCase().includes(needle.toLowerCase()));
        expect(hits, `"${needle}" in a log line`).toEqual([]);
      }
    },
  };
}

const app = createApp();
const fetchVerbose = async (path: string, init: RequestInit = {}, bindings: Env = verbose) => {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://edge.test${path}`, init), bindings, ctx);
  await res.text();
  await waitOnExecutionContext(ctx);
  return res;
};

describe("log lines on failure paths carry no email and no name", () => {
  it("a batch with poison beside valid messages (bisection, dead letters)", async () => {
    const p = persona();
    const bad = subscriberMessage(p.email, { name: `${p.name}\u0000`, last_name: p.last_name });
    const good = subscriberMessage(`ok.${p.email}`, { name: p.name, last_name: p.last_name });
    const { result } = await runBatch([good, bad], { env: verbose });
    expect(result.explicitAcks).toHaveLength(2);
    p.assertNotLogged();
  });

  it("a driver error that carries the statement's parameters (a serialization failure on the insert)", async () => {
    const p = persona();
    // Postgres answers, with an error drizzle wraps as "Failed query: … params: <email>,<name>,…":
    // the line the original leak came from. A trigger makes exactly this persona's insert fail.
    const fn = `fail_${crypto.randomUUID().replaceAll("-", "")}`;
    await db.db.execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin
        raise exception 'could not serialize' using errcode = '40001'; end $$`),
    );
    await db.db.execute(
      sql.raw(`create trigger ${fn} before insert on subscribers for each row
        when (new.name = '${p.name}') execute function ${fn}()`),
    );
    try {
      const { result } = await runBatch([subscriberMessage(p.email, { name: p.name, last_name: p.last_name })], { env: verbose });
      expect(result.retryMessages).toHaveLength(1);
    } finally {
      await db.db.execute(sql.raw(`drop trigger ${fn} on subscribers; drop function ${fn}();`));
    }
    expect(lines.some((l) => l.includes("40001"))).toBe(true);
    p.assertNotLogged();
  });

  it("a batch while Postgres is unreachable (retried), and a batch past its retry budget (dead-lettered)", async () => {
    const p = persona();
    const message = subscriberMessage(p.email, { name: p.name, last_name: p.last_name });
    await databaseDown(async () => {
      expect((await runBatch([message], { env: verbose })).result.retryMessages).toHaveLength(1);
      expect((await runBatch([message], { env: verbose, attempts: 99 })).result.explicitAcks).toHaveLength(1);
      // The dead letter itself, while Postgres is away: parked, and its batch line is clean too.
      await runBatch(
        [
          {
            kind: "dead_letter",
            reason: "retries_exhausted: test",
            message_id: `logs-${crypto.randomUUID()}`,
            attempts: 99,
            body: message,
          },
        ],
        {
          env: verbose,
          queue: "subscriber-writes-dlq",
        },
      );
    });
    p.assertNotLogged();
  });

  it("reads by email and writes while Postgres is unreachable (503)", async () => {
    const p = persona();
    // Authenticate once while Postgres is up: the key is then served from the edge cache.
    expect((await fetchVerbose("/v1/stats", { headers: bearer(writer) })).status).toBe(200);
    await databaseDown(async () => {
      const read = await fetchVerbose(`/v1/subscribers/${encodeURIComponent(p.email)}`, { headers: bearer(writer) });
      expect(read.status).toBe(503);
    });
    p.assertNotLogged();
  });

  it("a write the queue refuses (503), and bad input (422) naming the field", async () => {
    const p = persona();
    const failing = () => Promise.reject(new Error(`queue unavailable for ${p.email}`));
    const brokenQueue = { ...verbose, SUBSCRIBER_QUEUE: { send: failing, sendBatch: failing } as unknown as Queue } as Env;
    const post = (body: unknown, bindings: Env) =>
      fetchVerbose(
        "/v1/subscribers",
        { method: "POST", headers: { "Content-Type": "application/json", ...bearer(writer) }, body: JSON.stringify(body) },
        bindings,
      );
    expect((await post({ email: p.email, name: p.name, last_name: p.last_name }, brokenQueue)).status).toBe(503);
    expect((await post({ email: p.email, name: `${p.name}\u202E`, last_name: p.last_name }, verbose)).status).toBe(422);
    p.assertNotLogged();
  });
});
