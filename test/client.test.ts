import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/index.ts";
import { bearer, createTestKey, testDb } from "./helpers.ts";

const db = testDb();
afterAll(() => db.close());
let key: string;
beforeAll(async () => {
  key = await createTestKey(db, ["admin"], "typed-client");
});

// The typed-client example of docs/api.md ("Typed client"), type-checked by `npm run typecheck` and run against the Worker.
const client = hc<App>("http://edge.test", {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
  headers: () => bearer(key),
});

describe("typed client (hono/client with the exported App type)", () => {
  it("calls routes with typed inputs and typed bodies", async () => {
    const stats = await client.v1.stats.$get();
    expect(stats.status).toBe(200);
    if (stats.status === 200) {
      const body = await stats.json();
      expect(typeof body.data.subscribers.total).toBe("number");
    }
    const created = await client.v1.admin["api-keys"].$post({ json: { name: "from-client", scopes: ["subscribers:read"] } });
    expect(created.status).toBe(201);
    if (created.status === 201) {
      const { data } = await created.json();
      expect(data.key).toMatch(/^sk_test_/);
      const revoked = await client.v1.admin["api-keys"][":id"].$delete({ param: { id: data.id } });
      expect(revoked.status).toBe(200);
    }
  });

  it("reads the status document with a typed window", async () => {
    const res = await client.v1.admin.status.$get({ query: { window: "day" } });
    expect(res.status).toBe(200);
    if (res.status === 200) {
      const { data } = await res.json();
      expect(data.window).toBe("day");
      expect(data.requests.t).toHaveLength(96);
      expect(typeof data.writes.dead_letters_waiting).toBe("number");
    }
  });

  it("covers the subscriber lifecycle: create, change with If-Match, delete, each with Prefer: wait", async () => {
    const email = `typed.${crypto.randomUUID().slice(0, 8)}@example.com`;
    const wait = { prefer: "wait=10" };
    const created = await client.v1.subscribers.$post({ json: { email, name: "Typed", last_name: "Client" }, header: wait });
    expect(created.status).toBe(201);
    if (created.status !== 201) return;
    const { data } = await created.json();
    const changed = await client.v1.subscribers[":id_or_email"].$patch({
      param: { id_or_email: data.id },
      json: { status: "active" },
      header: { ...wait, "if-match": `"${data.version}"` },
    });
    expect(changed.status).toBe(200);
    if (changed.status === 200) expect((await changed.json()).data).toMatchObject({ status: "active", version: 2 });
    const removed = await client.v1.subscribers[":id_or_email"].$delete({ param: { id_or_email: email }, header: wait });
    expect(removed.status).toBe(204);
  });
});
