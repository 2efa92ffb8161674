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

// The README's typed-client example, type-checked by `npm run typecheck` and run against the Worker.
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
});
