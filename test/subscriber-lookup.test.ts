// POST /v1/subscribers/lookup: a read by email with the address in the body, never in the URL.
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { subscribers } from "../src/db/schema.ts";
import { it } from "./harness.ts";
import type { Problem, SubscriberBody } from "./helpers.ts";
import { bearer, call, createTestKey, postJson, uniqueDomain } from "./helpers.ts";

async function seed(db: DbHandle, email: string) {
  const id = crypto.randomUUID();
  await db.db.insert(subscribers).values({ id, email, name: "Ada", lastName: "Lovelace", status: "active" });
  return id;
}

const lookup = (body: unknown, headers: Record<string, string> = {}) => postJson("/v1/subscribers/lookup", body, headers);

describe("POST /v1/subscribers/lookup", () => {
  it("answers what GET by email answers: 200 with the envelope, ETag and no-store; 304 on If-None-Match", async ({ db, reader }) => {
    const email = `Ada.L@${uniqueDomain()}`;
    const id = await seed(db, email);
    const viaGet = await call(`/v1/subscribers/${encodeURIComponent(email)}`, { headers: bearer(reader) });
    const res = await lookup({ email: email.toUpperCase() }, bearer(reader));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("etag")).toBe('"1"');
    const body = await res.json<SubscriberBody>();
    expect(body.data.id).toBe(id);
    expect(body).toEqual(await viaGet.json());

    const again = await lookup({ email }, { ...bearer(reader), "If-None-Match": '"1"' });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe('"1"');
  });

  it("404 for an unknown address, 422 for a non-address or an extra field, 415 without JSON, 400 for broken JSON", async ({ reader }) => {
    expect((await lookup({ email: `nobody@${uniqueDomain()}` }, bearer(reader))).status).toBe(404);
    const notEmail = await lookup({ email: crypto.randomUUID() }, bearer(reader));
    expect(notEmail.status).toBe(422);
    expect((await notEmail.json<Problem>()).errors?.[0]?.field).toBe("email");
    expect((await lookup({ email: "a@b.c", id: "x" }, bearer(reader))).status).toBe(422);
    expect((await lookup({}, bearer(reader))).status).toBe(422);
    const text = await call("/v1/subscribers/lookup", {
      method: "POST",
      body: "a@b.c",
      headers: { ...bearer(reader), "Content-Type": "text/plain" },
    });
    expect(text.status).toBe(415);
    const broken = await call("/v1/subscribers/lookup", {
      method: "POST",
      body: "{",
      headers: { ...bearer(reader), "Content-Type": "application/json" },
    });
    expect(broken.status).toBe(400);
  });

  it("needs subscribers:read: 401 without a key, 403 with a write-only key", async ({ db }) => {
    expect((await lookup({ email: "a@b.c" })).status).toBe(401);
    const writeOnly = await createTestKey(db, ["subscribers:write"], "lookup-write-only");
    const res = await lookup({ email: "a@b.c" }, bearer(writeOnly));
    expect(res.status).toBe(403);
    const admin = await createTestKey(db, ["admin"], "lookup-admin");
    expect((await lookup({ email: `x@${uniqueDomain()}` }, bearer(admin))).status).toBe(404);
  });

  it("is in the OpenAPI document as lookupSubscriber", async () => {
    const doc = await (await call("/openapi.json")).json<{
      paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
    }>();
    const op = doc.paths["/v1/subscribers/lookup"]?.post;
    expect(op?.operationId).toBe("lookupSubscriber");
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual([
      "200",
      "304",
      "400",
      "401",
      "403",
      "404",
      "413",
      "415",
      "422",
      "429",
      "500",
      "503",
    ]);
  });
});
