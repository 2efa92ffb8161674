// What a caller may learn and what may be kept: ids only for keys that may read them, no shared
// caching of personal data, and a clear 4xx (never a 500) for cursors and ids that have the right
// shape but no meaning.
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../src/lib/pagination.ts";
import { cacheKeys } from "../src/subscribers/model.ts";
import type { Problem } from "./helpers.ts";
import { bearer, call, createTestKey, postJson, testDb, uniqueDomain, waitFor } from "./helpers.ts";
import { runBatch, subscriberMessage } from "./queue-helpers.ts";

const db = testDb();
let writeOnly: string;
let readWrite: string;
let admin: string;
beforeAll(async () => {
  writeOnly = await createTestKey(db, ["subscribers:write"], "no-leaks-write-only");
  readWrite = await createTestKey(db, ["subscribers:write", "subscribers:read"], "no-leaks-read-write");
  admin = await createTestKey(db, ["admin"], "no-leaks-admin");
});
afterAll(() => db.close());

const cursor = encodeCursor;

describe("409 for an existing email", () => {
  it("names the existing subscriber only to a key that may read subscribers", async () => {
    const message = subscriberMessage(`taken@${uniqueDomain()}`);
    await runBatch([message]);
    // The edge knows the address once a read by email has filled its cache entry (the consumer writes none).
    const known = await call(`/v1/subscribers/${encodeURIComponent(message.subscriber.email)}`, { headers: bearer(readWrite) });
    expect(known.status).toBe(200);
    await known.body?.cancel();
    const emailKey = await cacheKeys.byEmail(message.subscriber.email);
    await waitFor(async () => (await env.CACHE.get(emailKey)) !== null, 5_000, "the read's fill by email");
    const body = { email: message.subscriber.email, name: "Someone", last_name: "Else" };

    const blind = await postJson("/v1/subscribers", body, bearer(writeOnly));
    expect(blind.status).toBe(409);
    const blindProblem = await blind.json<Record<string, unknown>>();
    expect(blindProblem).not.toHaveProperty("existing_id");
    expect(JSON.stringify(blindProblem)).not.toContain(message.subscriber.id);

    const reader = await postJson("/v1/subscribers", body, bearer(readWrite));
    expect(reader.status).toBe(409);
    expect(await reader.json()).toMatchObject({ existing_id: message.subscriber.id });
  });
});

describe("Cache-Control: no-store", () => {
  it("on every authenticated response carrying subscribers, stats, operations or keys", async () => {
    const message = subscriberMessage(`cc@${uniqueDomain()}`);
    await runBatch([message]);
    const reads = [
      [`/v1/subscribers/${message.subscriber.id}`, readWrite],
      [`/v1/subscribers/${encodeURIComponent(message.subscriber.email)}`, readWrite],
      ["/v1/subscribers?limit=2", readWrite],
      ["/v1/stats", readWrite],
      [`/v1/operations/${message.operation_id}`, readWrite],
      ["/v1/admin/api-keys", admin],
      ["/v1/admin/dead-letters", admin],
    ] as const;
    for (const [path, key] of reads) {
      const res = await call(path, { headers: bearer(key) });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      await res.body?.cancel();
    }
    const accepted = await postJson("/v1/subscribers", { email: `new@${uniqueDomain()}`, name: "N", last_name: "W" }, bearer(writeOnly));
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("cache-control")).toBe("no-store");
    const problem = await call("/v1/subscribers/00000000-0000-7000-8000-000000000000", { headers: bearer(readWrite) });
    expect(problem.status).toBe(404);
    expect(problem.headers.get("cache-control")).toBe("no-store");
  });
});

describe("well-shaped but meaningless cursors and ids: 422, never 500", () => {
  const uuid = "01890000-0000-7000-8000-000000000000";
  const cases: Array<[string, string, string]> = [
    ["/v1/plans", cursor(["2021-02-30T00:00:00", uuid]), "query.cursor"],
    ["/v1/plans", cursor(["2021-13-01T00:00:00", uuid]), "query.cursor"],
    ["/v1/plans", cursor(["2021-04-31T24:00:00", uuid]), "query.cursor"],
    ["/v1/subscribers", cursor({ c: "2021-02-30T00:00:00.000Z", i: uuid }), "cursor"],
    ["/v1/subscribers", cursor({ c: "+275760-09-13T00:00:00.000Z", i: uuid }), "cursor"],
    ["/v1/subscribers", cursor({ c: "2021-02-28T00:00:00+14:00", i: uuid }), "cursor"],
    ["/v1/subscribers", cursor({ c: "0000-01-01T00:00:00.000Z", i: uuid }), "cursor"],
    ["/v1/plans", cursor(["0000-01-01T00:00:00", uuid]), "query.cursor"],
  ];
  it.each(cases)("%s?cursor=%s", async (path, value, field) => {
    const res = await call(`${path}?cursor=${value}`, { headers: bearer(readWrite) });
    expect(res.status).toBe(422);
    expect((await res.json<Problem>()).errors?.map((e) => e.field)).toEqual([field]);
  });

  it.each(["a%00@b.co", "a%01b@c.co", "%E2%80%AEa@b.co", "a%0D%0A@b.co", "%C3%A9@b.co"])("GET /v1/subscribers/%s", async (segment) => {
    const res = await call(`/v1/subscribers/${segment}`, { headers: bearer(readWrite) });
    expect(res.status).toBe(422);
    await res.body?.cancel();
  });
});
