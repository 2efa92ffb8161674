// Keys without `subscribers:read` never receive subscriber ids or data (a `Prefer: wait` answer is
// the finished operation, a 202's subscriber_id is null except on a create), and If-Match compares
// strongly over a list (RFC 9110 §13.1.1): a weak tag is a 412, a list holds if any member does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperationBody, SubscriberBody } from "./helpers.ts";
import { bearer, call, createTestKey, expectProblem, testDb, uniqueDomain } from "./helpers.ts";
import { operationsOf, runBatch, subscriberMessage, updateMessage } from "./queue-helpers.ts";

const db = testDb();
let full: string;
let writeOnly: string;
let eraseOnly: string;
beforeAll(async () => {
  full = await createTestKey(db, ["subscribers:write", "subscribers:read", "subscribers:erase"], "scopes-full");
  writeOnly = await createTestKey(db, ["subscribers:write"], "scopes-write-only");
  eraseOnly = await createTestKey(db, ["subscribers:erase"], "scopes-erase-only");
});
afterAll(() => db.close());

const headers = (key: string, extra: Record<string, string> = {}) => ({ ...bearer(key), "Content-Type": "application/json", ...extra });
const person = () => ({ email: `scope.${crypto.randomUUID().slice(0, 8)}@${uniqueDomain()}`, name: "Scopename", last_name: "Scopelast" });

async function stored(): Promise<{ p: ReturnType<typeof person>; id: string }> {
  const p = person();
  const res = await call("/v1/subscribers", { method: "POST", headers: headers(full, { Prefer: "wait=10" }), body: JSON.stringify(p) });
  expect(res.status).toBe(201);
  return { p, id: (await res.json<SubscriberBody>()).data.id };
}

/** The body holds no subscriber data: neither the address nor the names (nor, unless allowed, the id). */
function expectNoSubscriberData(text: string, p: ReturnType<typeof person>, id?: string): void {
  for (const needle of [p.email, p.name, p.last_name, ...(id ? [id] : [])]) expect(text.toLowerCase()).not.toContain(needle.toLowerCase());
}

describe("keys without subscribers:read", () => {
  it("a create under Prefer: wait answers 200 with the finished operation, whose subscriber_id is the id it minted", async () => {
    const p = person();
    const res = await call("/v1/subscribers", {
      method: "POST",
      headers: headers(writeOnly, { Prefer: "wait=10" }),
      body: JSON.stringify(p),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expectNoSubscriberData(text, p);
    const op = (JSON.parse(text) as OperationBody).data;
    expect(op).toMatchObject({ kind: "subscriber.create", status: "succeeded", subscriber_version: 1 });
    expect(op.subscriber_id).toMatch(/^[0-9a-f-]{36}$/);
    // Without waiting: 202, with the minted id too.
    const accepted = await call("/v1/subscribers", { method: "POST", headers: headers(writeOnly), body: JSON.stringify(person()) });
    expect(accepted.status).toBe(202);
    expect((await accepted.json<OperationBody>()).data.subscriber_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a PATCH by email answers the operation without the subscriber, its id or its ETag; a 202 has subscriber_id null", async () => {
    const { p, id } = await stored();
    const ref = `/v1/subscribers/${encodeURIComponent(p.email)}`;
    const waited = await call(ref, { method: "PATCH", headers: headers(writeOnly, { Prefer: "wait=10" }), body: '{"status":"active"}' });
    expect(waited.status).toBe(200);
    expect(waited.headers.get("ETag")).toBeNull();
    const text = await waited.text();
    expectNoSubscriberData(text, p, id);
    expect((JSON.parse(text) as OperationBody).data).toMatchObject({ status: "succeeded", subscriber_id: null, subscriber_version: 2 });

    for (const extra of [{}, { "If-Match": '"999"' }] as Array<Record<string, string>>) {
      const res = await call(ref, { method: "PATCH", headers: headers(writeOnly, extra), body: '{"name":"Other"}' });
      expect(res.status).toBe(202);
      const body = await res.text();
      expectNoSubscriberData(body, p, id);
      expect((JSON.parse(body) as OperationBody).data.subscriber_id).toBeNull();
    }
    const del = await call(ref, { method: "DELETE", headers: bearer(writeOnly) });
    expect(del.status).toBe(202);
    expectNoSubscriberData(await del.text(), p, id);
  });

  it("an erase-only key's forget by email does not return the subscriber's id", async () => {
    const { p, id } = await stored();
    const res = await call(`/v1/subscribers/${encodeURIComponent(p.email)}/forget`, { method: "POST", headers: bearer(eraseOnly) });
    expect(res.status).toBe(202);
    const text = await res.text();
    expectNoSubscriberData(text, p, id);
    expect((JSON.parse(text) as OperationBody).data).toMatchObject({ kind: "subscriber.forget", subscriber_id: null });
  });

  it("a key with subscribers:read keeps today's answers", async () => {
    const { p, id } = await stored();
    const res = await call(`/v1/subscribers/${encodeURIComponent(p.email)}`, {
      method: "PATCH",
      headers: headers(full, { Prefer: "wait=10" }),
      body: '{"status":"active"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("ETag")).toBe('"2"');
    expect((await res.json<SubscriberBody>()).data).toMatchObject({ id, email: p.email });
  });
});

describe("If-Match", () => {
  it("a weak tag never matches (412, not 422); a tag that is no version of ours neither; only malformed syntax is 422", async () => {
    const { id } = await stored();
    for (const tag of ['W/"1"', '"abc"', 'W/"1", W/"2"']) {
      const res = await call(`/v1/subscribers/${id}`, {
        method: "PATCH",
        headers: headers(full, { "If-Match": tag }),
        body: '{"name":"X"}',
      });
      await expectProblem(res, 412, "precondition_failed");
    }
    for (const tag of ["1", '"1', '"1" "2"']) {
      const res = await call(`/v1/subscribers/${id}`, {
        method: "PATCH",
        headers: headers(full, { "If-Match": tag }),
        body: '{"name":"X"}',
      });
      await expectProblem(res, 422, "validation_failed");
    }
    const del = await call(`/v1/subscribers/${id}`, { method: "DELETE", headers: { ...bearer(full), "If-Match": 'W/"1"' } });
    await expectProblem(del, 412, "precondition_failed");
  });

  it("a list holds when the current version is any listed one", async () => {
    const { id } = await stored();
    const patch = (ifMatch: string, name: string) =>
      call(`/v1/subscribers/${id}`, {
        method: "PATCH",
        headers: headers(full, { "If-Match": ifMatch, Prefer: "wait=10" }),
        body: JSON.stringify({ name }),
      });
    // At version 1: "1" is listed (with a weak tag that cannot match beside it).
    const first = await patch('W/"2", "7", "1"', "One");
    expect(first.status).toBe(200);
    expect(first.headers.get("ETag")).toBe('"2"');
    // At version 2: neither 3 nor 4 holds; the edge cannot tell, the consumer refuses.
    const body = await expectProblem(await patch('"3", "4"', "Two"), 412, "precondition_failed");
    expect(body.current_version).toBe(2);
    // Every listed version below the known one: 412 at the edge.
    await expectProblem(await patch('"1", W/"2"', "Three"), 412, "precondition_failed");
    const ok = await patch('"1", "2"', "Four");
    expect(ok.status).toBe(200);
    expect((await ok.json<SubscriberBody>()).data).toMatchObject({ name: "Four", version: 3 });
  });

  it("the consumer honours if_match_any, and older messages with if_match alone", async () => {
    const create = subscriberMessage(`any@${uniqueDomain()}`);
    await runBatch([create]);
    const listed = { ...updateMessage(create.subscriber.id, { name: "Listed" }), if_match_any: [1, 5] };
    const missed = { ...updateMessage(create.subscriber.id, { name: "Missed" }), if_match_any: [1, 5] };
    const single = updateMessage(create.subscriber.id, { last_name: "Single" }, { ifMatch: 2 });
    await runBatch([listed]);
    await runBatch([missed]);
    await runBatch([single]);
    const byId = new Map((await operationsOf(db, [listed.operation_id, missed.operation_id, single.operation_id])).map((o) => [o.id, o]));
    expect(byId.get(listed.operation_id)).toMatchObject({ status: "succeeded", version: 2 });
    expect(byId.get(missed.operation_id)).toMatchObject({ status: "failed", errorCode: "precondition_failed" });
    expect(byId.get(single.operation_id)).toMatchObject({ status: "succeeded", version: 3 });
  });
});
