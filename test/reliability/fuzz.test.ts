// Bad input, property-based (fast-check): arbitrary parameters, headers and bodies on every
// subscriber route. Every response is a 2xx or a well-formed 4xx problem+json, never a 5xx; and
// every row the accepted writes produced is valid.
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.ts";
import { SubscriberInput } from "../../src/subscribers/schema.ts";
import { bearer, call, createTestKey, testDb, uniqueDomain } from "../helpers.ts";
import { waitForOperations } from "../queue-helpers.ts";
import type { FuzzRequest } from "./fuzz-inputs.ts";
import { fuzzRequests } from "./fuzz-inputs.ts";
import { isProblem, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const RUNS = long ? 1_500 : 150;
const db = testDb();
let writer: string;
let reader: string;
let admin: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "fuzz-writer");
  reader = await createTestKey(db, ["subscribers:read"], "fuzz-reader");
  admin = await createTestKey(db, ["admin"], "fuzz-admin");
});
afterAll(() => db.close());

const domain = uniqueDomain();
const request = fuzzRequests(domain);
type Req = FuzzRequest;

function authHeader(a: string): Record<string, string> {
  if (a === "writer") return bearer(writer);
  if (a === "reader") return bearer(reader);
  if (a === "admin") return bearer(admin);
  if (a === "none") return {};
  return /^[\t\x20-\x7e]*$/.test(a) ? { Authorization: a } : {};
}

function send(r: Req): Promise<Response> {
  const headers = "auth" in r ? authHeader(r.auth) : {};
  const enc = (s: string) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return "x"; // lone surrogates cannot be percent-encoded by a client either
    }
  };
  switch (r.kind) {
    case "post":
      return call("/v1/subscribers", {
        method: "POST",
        headers: {
          ...headers,
          ...(r.contentType ? { "Content-Type": r.contentType } : {}),
          ...(r.idem !== null ? { "Idempotency-Key": r.idem } : {}),
        },
        body: r.body,
      });
    case "get":
      return call(`/v1/subscribers/${enc(r.segment)}`, { headers });
    case "list":
      return call(
        `/v1/subscribers?${Object.entries(r.query)
          .map(([k, v]) => `${enc(k)}=${enc(v)}`)
          .join("&")}`,
        { headers },
      );
    case "cursor": {
      const query = { ...r.extra, cursor: r.cursor };
      return call(
        `${r.route[0]}?${Object.entries(query)
          .map(([k, v]) => `${enc(k)}=${enc(v)}`)
          .join("&")}`,
        { headers: authHeader(r.route[1]) },
      );
    }
    case "operation":
      return call(`/v1/operations/${enc(r.segment)}`, { headers });
    case "stats":
      return call("/v1/stats", { headers: { ...headers, "X-Request-Id": r.requestId } });
  }
}

describe(`reliability: property-based fuzzing of the subscriber routes (${RUNS} runs)`, () => {
  it("every response is 2xx or a well-formed 4xx problem, never 5xx; the database holds only valid rows", {
    timeout: long ? 600_000 : 120_000,
  }, async () => {
    const statuses: Record<string, number> = {};
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await send(r);
        statuses[`${r.kind} ${res.status}`] = (statuses[`${r.kind} ${res.status}`] ?? 0) + 1;
        const type = res.headers.get("content-type") ?? "";
        const body: unknown = await res.json().catch(() => undefined);
        if (res.status >= 500) throw new Error(`${res.status} for ${JSON.stringify(r)}: ${JSON.stringify(body)}`);
        if (res.status >= 400) {
          expect(type).toBe("application/problem+json");
          expect(isProblem(body, res.status), JSON.stringify(body)).toBe(true);
        } else {
          expect(type).toMatch(/^application\/json/);
          expect(body).toHaveProperty("data");
          if (r.kind === "post") accepted.push((body as { data: { id: string } }).data.id);
        }
      }),
      { numRuns: RUNS },
    );

    // Every accepted write reaches an outcome, and the outcomes add up: each accepted write either
    // stored its row, found its email taken (two fuzzed POSTs can pick the same address: that is why
    // an earlier report counted 175 accepted writes against 173 rows), or was refused by the database.
    const distinct = [...new Set(accepted)];
    const outcomes = distinct.length ? await waitForOperations(db, distinct, 60_000) : [];
    const count = (status: string, code: string | null) => outcomes.filter((o) => o.status === status && o.errorCode === code).length;
    const succeeded = count("succeeded", null);
    const alreadyExists = count("failed", "already_exists");
    // The edge refuses everything the database would: nothing accepted may fail for its data.
    expect(count("failed", "invalid_data")).toBe(0);
    expect(succeeded + alreadyExists).toBe(outcomes.length);
    const storedIds = outcomes.filter((o) => o.status === "succeeded").map((o) => o.subscriberId!);
    const rows = storedIds.length ? await db.db.select().from(subscribers).where(inArray(subscribers.id, storedIds)) : [];
    expect(rows.length).toBe(succeeded);
    for (const row of rows) {
      const parsed = SubscriberInput.safeParse({ email: row.email, name: row.name, last_name: row.lastName, status: row.status });
      expect(parsed.success, JSON.stringify(row)).toBe(true);
      // Stored exactly as the policy leaves it: NFC, trimmed.
      expect([row.name, row.lastName]).toEqual([parsed.data!.name, parsed.data!.last_name]);
      expect(row.email).toBe(row.email.trim());
    }
    const fiveXx = Object.entries(statuses).filter(([k]) => Number(k.split(" ")[1]) >= 500).length;
    expect(fiveXx).toBe(0);
    report("fuzzing", {
      inputs_tried: RUNS,
      statuses,
      accepted_writes: accepted.length,
      rows_stored: rows.length,
      already_exists: alreadyExists,
      rejected_at_edge_422: statuses["post 422"] ?? 0,
      rejected_by_database: 0,
      responses_5xx: fiveXx,
    });
  });
});
