import { describe, expect } from "vitest";
import { it } from "./harness.ts";
import type { Problem } from "./helpers.ts";
import { bearer, call, postJson, uniqueDomain } from "./helpers.ts";
import { runBatch } from "./queue-helpers.ts";
import { message, storedIn } from "./subscriber-helpers.ts";

describe("bad input and authorization", () => {
  it("every invalid field is a 422 problem naming it; nothing is enqueued", async ({ writer }) => {
    const cases: Array<[unknown, string]> = [
      [{ email: "nope", name: "A", last_name: "B" }, "email"],
      [{ email: `${"x".repeat(250)}@a.io`, name: "A", last_name: "B" }, "email"],
      [{ email: "a@b.io", name: "", last_name: "B" }, "name"],
      [{ email: "a@b.io", name: "A", last_name: "B".repeat(256) }, "last_name"],
      [{ email: "a@b.io", name: "A", last_name: "B", status: "deleted" }, "status"],
      [{ email: "a@b.io", name: "A", last_name: "B", admin: true }, "body"],
      [{ name: "A", last_name: "B" }, "email"],
    ];
    for (const [body, field] of cases) {
      const res = await postJson("/v1/subscribers", body, bearer(writer));
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = await res.json<Problem>();
      expect(
        problem.errors?.map((e) => e.field),
        JSON.stringify(body),
      ).toContain(field);
    }
  });

  it("malformed JSON is 400, a non-JSON body 415, an oversized body 413", async ({ writer }) => {
    const malformed = await call("/v1/subscribers", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...bearer(writer) },
      body: "{",
    });
    expect(malformed.status).toBe(400);
    const form = await call("/v1/subscribers", {
      method: "POST",
      headers: { "Content-Type": "text/plain", ...bearer(writer) },
      body: "email=a",
    });
    expect(form.status).toBe(415);
    const big = await postJson("/v1/subscribers", { email: "a@b.io", name: "x".repeat(20_000), last_name: "B" }, bearer(writer));
    expect(big.status).toBe(413);
    for (const r of [malformed, form, big]) expect(r.headers.get("content-type")).toBe("application/problem+json");
  });

  it("SQL-looking input is stored as plain data, never executed", async ({ db, reader }) => {
    const domain = uniqueDomain();
    const name = "Robert'); DROP TABLE subscribers;--";
    const { result } = await runBatch([message(`bobby@${domain}`, { name, last_name: "' OR 1=1 --" })]);
    expect(result.explicitAcks).toHaveLength(1);
    const [row] = await storedIn(db, domain);
    expect(row).toMatchObject({ name, lastName: "' OR 1=1 --" });
    // Quotes are allowed in an address, so this one is looked up (and found by nobody); one with
    // spaces is no address at all (the one rule, src/subscribers/email.ts): 422 before any query.
    const quoted = await call(`/v1/subscribers/${encodeURIComponent(`x'OR'1--1@${domain}`)}`, { headers: bearer(reader) });
    expect(quoted.status).toBe(404);
    const spaced = await call(`/v1/subscribers/${encodeURIComponent(`x' OR '1'='1@${domain}`)}`, { headers: bearer(reader) });
    expect(spaced.status).toBe(422);
  });

  it("401 without a key or with a bad key, 403 with a key lacking the scope", async ({ reader }) => {
    const body = { email: `auth@${uniqueDomain()}`, name: "A", last_name: "B" };
    const none = await postJson("/v1/subscribers", body);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const bad = await postJson("/v1/subscribers", body, bearer("sk_this_key_does_not_exist_at_all"));
    expect(bad.status).toBe(401);
    const readOnly = await postJson("/v1/subscribers", body, bearer(reader));
    expect(readOnly.status).toBe(403);
    expect((await readOnly.json<Problem>()).detail).toMatch(/subscribers:write/);
    expect((await call("/v1/subscribers", {})).status).toBe(401);
  });
});
