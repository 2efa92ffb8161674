// Bad input, property-based (fast-check): arbitrary parameters, headers and bodies on every
// subscriber route. Every response is a 2xx or a well-formed 4xx problem+json, never a 5xx; and
// every row the accepted writes produced is valid.
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operations, subscribers } from "../../src/db/schema.ts";
// The app first: it installs zod's .openapi() that the route modules call on shared schemas.
import "../../src/http/app.ts";
import { SubscriberInput } from "../../src/subscribers/model.ts";
import { bearer, call, createTestKey, testDb, uniqueDomain, waitFor } from "../helpers.ts";
import { isProblem, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const RUNS = long ? 1_500 : 150;
const db = testDb();
let writer: string;
let reader: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "fuzz-writer");
  reader = await createTestKey(db, ["subscribers:read"], "fuzz-reader");
});
afterAll(() => db.close());

const domain = uniqueDomain();
const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme", maxLength: 300 }), fc.constantFrom("", " ", "\u0000", "'; drop table subscribers;--", "x".repeat(300)));
const email = fc.oneof(
  fc.emailAddress().map((e) => e.replace(/@.*/, `@${domain}`)),
  fc.emailAddress(),
  text,
  fc.constantFrom(`UPPER@${domain.toUpperCase()}`, ` spaced@${domain} `, `${"a".repeat(250)}@${domain}`, "a@b", "@", "a@@b.io"),
);
const status = fc.oneof(fc.constantFrom("active", "unsubscribed", "unconfirmed", "bounced", "junk"), text);
const bodyValue = fc.oneof(
  fc.record({ email, name: text, last_name: text, status }, { requiredKeys: [] }),
  fc.record({ email, name: text, last_name: text, status, extra: fc.jsonValue() }),
  fc.jsonValue(),
);
const rawBody = fc.oneof(
  bodyValue.map((v) => JSON.stringify(v)),
  fc.string(),
  fc.constantFrom("{", "[]", "null", '{"email":', "\u0000"),
);
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain", "", "application/x-www-form-urlencoded", "multipart/form-data");
const auth = fc.oneof(fc.constant("writer"), fc.constant("reader"), fc.constant("none"), fc.string().map((s) => `Bearer ${s}`), fc.string());
const headerValue = fc.string({ maxLength: 300 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s));
const segment = fc.oneof(fc.uuid(), email, text, fc.constantFrom("%", "%00", "..", "%2F", "a/b", "\u00e9"));
const queryPart = fc.dictionary(fc.oneof(fc.constantFrom("status", "limit", "cursor"), fc.string({ maxLength: 10 })), fc.oneof(text, fc.integer().map(String), fc.constantFrom("active", "-1", "1e3", "100", "0x10")), { maxKeys: 4 });

// Close to valid, so a good share is accepted and reaches the consumer and the database.
const nearlyValid = fc
  .record({
    email: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,30}$/), fc.emailAddress()).map((e) => `${e.replace(/@.*/, "")}@${domain}`),
    name: fc.string({ minLength: 1, maxLength: 60 }),
    last_name: fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 })),
    status: fc.constantFrom("active", "unsubscribed", "unconfirmed", "bounced", "junk"),
  }, { requiredKeys: ["email", "name", "last_name"] })
  .map((v) => JSON.stringify(v));

const request = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("post" as const), body: nearlyValid, contentType: fc.constant("application/json"), auth: fc.constant("writer"), idem: fc.option(headerValue, { freq: 2 }) }) },
  fc.record({ kind: fc.constant("post" as const), body: rawBody, contentType, auth, idem: fc.option(headerValue) }),
  fc.record({ kind: fc.constant("get" as const), segment, auth }),
  fc.record({ kind: fc.constant("list" as const), query: queryPart, auth }),
  fc.record({ kind: fc.constant("operation" as const), segment, auth }),
  fc.record({ kind: fc.constant("stats" as const), auth, requestId: headerValue }),
);
type Req = typeof request extends fc.Arbitrary<infer R> ? R : never;

function authHeader(a: string): Record<string, string> {
  if (a === "writer") return bearer(writer);
  if (a === "reader") return bearer(reader);
  if (a === "none") return {};
  return /^[\t\x20-\x7e]*$/.test(a) ? { Authorization: a } : {};
}

function send(r: Req): Promise<Response> {
  const headers = authHeader(r.auth);
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
        headers: { ...headers, ...(r.contentType ? { "Content-Type": r.contentType } : {}), ...(r.idem !== null ? { "Idempotency-Key": r.idem } : {}) },
        body: r.body,
      });
    case "get":
      return call(`/v1/subscribers/${enc(r.segment)}`, { headers });
    case "list":
      return call(`/v1/subscribers?${Object.entries(r.query).map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&")}`, { headers });
    case "operation":
      return call(`/v1/operations/${enc(r.segment)}`, { headers });
    case "stats":
      return call("/v1/stats", { headers: { ...headers, "X-Request-Id": r.requestId } });
  }
}

describe(`reliability: property-based fuzzing of the subscriber routes (${RUNS} runs)`, () => {
  it("every response is 2xx or a well-formed 4xx problem, never 5xx; the database holds only valid rows", { timeout: long ? 600_000 : 120_000 }, async () => {
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

    // Every accepted write reaches an outcome; every row it produced passes the input schema.
    const outcomes = accepted.length
      ? await waitFor(
          async () => {
            const rows = await db.db.select().from(operations).where(inArray(operations.id, accepted));
            return rows.length === accepted.length ? rows : undefined;
          },
          60_000,
          "fuzzed writes' outcomes",
        )
      : [];
    const ids = [...new Set(outcomes.map((o) => o.subscriberId))];
    const rows = ids.length ? await db.db.select().from(subscribers).where(inArray(subscribers.id, ids)) : [];
    expect(rows.length).toBe(ids.length);
    for (const row of rows) {
      const parsed = SubscriberInput.safeParse({ email: row.email, name: row.name, last_name: row.lastName, status: row.status });
      expect(parsed.success, JSON.stringify(row)).toBe(true);
      expect(row.email).toBe(row.email.trim());
    }
    report("fuzzing", { requests: RUNS, statuses, accepted_writes: accepted.length, rows_validated: rows.length });
  });
});
