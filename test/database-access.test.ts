// One-shot reads go over Neon's SQL-over-HTTP API (createReader in src/db/client.ts), transactions over
// the WebSocket pool; locally the relay answers both (scripts/lib/ws-relay.ts, neon-http-standin.ts).
// Both ways must return the same rows and the same errors, and a cache miss must cost one HTTP round
// trip and no connection.
import { env } from "cloudflare:workers";
import { neon } from "@neondatabase/serverless";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../src/config/index.ts";
import { createReader } from "../src/db/client.ts";
import { isDatabaseUnavailable, isRefusedByDatabase, pgErrorCode } from "../src/db/errors.ts";
import { findSubscriberById } from "../src/db/repositories/subscribers.ts";
import { subscribers } from "../src/db/schema.ts";
import { appWith, bearer, createTestKey, databaseDown, relayCounts, testDb, uniqueDomain } from "./helpers.ts";

const config = getConfig(env);
const db = testDb();
const reader = createReader(config);
afterAll(() => db.close());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the statement to fail");
    },
    (err: unknown) => err,
  );

async function seedSubscriber(): Promise<string> {
  const id = crypto.randomUUID();
  await db.db.insert(subscribers).values({ id, email: `ada@${uniqueDomain()}`, name: "Ada", lastName: "Lovelace", status: "active" });
  return id;
}

describe("reads over HTTP and over the pool", () => {
  it("return the same rows: dates, booleans, big integers, numerics, json, arrays and nulls", async () => {
    const id = await seedSubscriber();
    const overHttp = await findSubscriberById(reader, id);
    expect(overHttp).toEqual(await findSubscriberById(db.db, id));
    expect(overHttp?.createdAt).toBeInstanceOf(Date);
    expect(overHttp?.unsubscribedAt).toBeNull();

    const probe = sql`select 1::int4 as i, 9007199254740993::int8 as big, 1.50::numeric as n, true as b, '{"a":[1,null,"é"]}'::jsonb as j,
      array[1,2]::int[] as arr, null::text as nothing, '2026-01-02 03:04:05.678+00'::timestamptz as at, ${"ünïcode ✓ 'quoted'"}::text as t`;
    const [http, pool] = await Promise.all([reader.execute(probe), db.db.execute(probe)]);
    expect(http.rows).toEqual(pool.rows);
    expect(http.rows[0]).toMatchObject({ i: 1, big: "9007199254740993", b: true, j: { a: [1, null, "é"] }, arr: [1, 2], nothing: null });
  });

  it("a statement Postgres refuses keeps its SQLSTATE, and is classed as refused, not as unavailable", async () => {
    const bad = sql`select ${"not-a-uuid"}::uuid`;
    const [http, pool] = await Promise.all([failure(reader.execute(bad)), failure(db.db.execute(bad))]);
    expect(pgErrorCode(http)).toBe("22P02");
    expect(pgErrorCode(pool)).toBe("22P02");
    expect(isRefusedByDatabase(http)).toBe(true);
    expect(isDatabaseUnavailable(http)).toBe(false);
  });

  it("takes one statement per request, as Neon's endpoint does", async () => {
    const err = await failure(reader.execute(sql.raw("select 1; select 2")));
    expect(pgErrorCode(err)).toBe("42601");
  });

  it("runs a batch as one transaction: a failing statement undoes the ones before it", async () => {
    const q = neon(config.databaseUrl);
    const id = crypto.randomUUID();
    const email = `batch@${uniqueDomain()}`;
    const err = await failure(
      q.transaction(
        [q`insert into subscribers (id, email, name, last_name, status) values (${id}, ${email}, 'B', 'B', 'active')`, q`select 1 / 0`],
        { isolationLevel: "Serializable" },
      ),
    );
    expect(pgErrorCode(err)).toBe("22012");
    expect(await db.db.select().from(subscribers).where(eq(subscribers.id, id))).toEqual([]);

    const [inserted, counted] = await q.transaction([
      q`insert into subscribers (id, email, name, last_name, status) values (${id}, ${email}, 'B', 'B', 'active') returning id`,
      q`select count(*)::int as n from subscribers where id = ${id}`,
    ]);
    expect(inserted).toEqual([{ id }]);
    expect(counted).toEqual([{ n: 1 }]);
  });

  it("with Postgres unreachable, an HTTP read fails as unavailable (a 503), never as refused", async () => {
    const err = await databaseDown(() => failure(findSubscriberById(reader, crypto.randomUUID())));
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isRefusedByDatabase(err)).toBe(false);
  });

  it("abandons a statement that outlasts the query deadline, as unavailable", async () => {
    const err = await failure(reader.execute(sql`select pg_sleep(8)`));
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(pgErrorCode(err)).toBeUndefined();
  });
});

describe("round trips of a subscriber read", () => {
  // Rollups off: their once-a-minute flush opens a pool of its own and would be counted here.
  const get = appWith({ METRICS_ROLLUPS: "off" });
  let key: string;
  beforeAll(async () => {
    key = await createTestKey(db, ["subscribers:read"], "database-access");
    // The key's own lookup, once; later requests find it at the edge.
    expect((await get(`/v1/subscribers/${crypto.randomUUID()}`, { headers: bearer(key) })).status).toBe(404);
  });

  it("a cache miss is one HTTP query and no connection; the hit that follows is neither", async () => {
    const id = await seedSubscriber();
    const before = await relayCounts();
    expect((await get(`/v1/subscribers/${id}`, { headers: bearer(key) })).status).toBe(200);
    const afterMiss = await relayCounts();
    expect(afterMiss.httpQueries - before.httpQueries).toBe(1);
    expect(afterMiss.connections - before.connections).toBe(0);

    expect((await get(`/v1/subscribers/${id}`, { headers: bearer(key) })).status).toBe(200);
    expect(await relayCounts()).toEqual(afterMiss);
  });
});
