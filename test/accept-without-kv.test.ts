import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect } from "vitest";
import { createApp } from "../src/http/app.ts";
import type { Units } from "../src/lib/meter.ts";
import { newUnits } from "../src/lib/meter.ts";
import { it } from "./harness.ts";
import type { OperationBody } from "./helpers.ts";
import { bearer, captureLogLines, logRecords, uniqueDomain, waitFor } from "./helpers.ts";
import { operationsOf, runBatch, storedIn, subscriberMessage, waitForOperations } from "./queue-helpers.ts";

// Accepting a write costs no KV write (src/subscribers/accept.ts): the operation id is signed, so
// GET /v1/operations/{id} knows a pending one without storage, and an Idempotency-Key is its
// operation id, so two locations that accept the same key enqueue the same operation, which the
// consumer decides once in Postgres (src/subscribers/set-apply.ts).
//
// How a test models two locations: each is the app with its own KV namespace and its own Cache API
// view, and the same queue and Postgres. Location "a" has the test KV; location "b" has a KV of its
// own, in memory and empty, so it has seen none of a's writes (KV's view in a location that has not
// yet replicated them); the Cache API keys of operations name the request's origin
// (src/http/operation-cache.ts), so a.test and b.test never see each other's copies.

const app = createApp();
const lines = captureLogLines();
const verbose = { ...env, LOG_LEVEL: "info" } as Env;
const UNIT_NAMES = Object.keys(newUnits()) as (keyof Units)[];

/** A KV namespace of one location alone, in memory: what it was written here, nothing else. */
function kvOfOneLocation(): KVNamespace {
  const data = new Map<string, string>();
  const kv = {
    async get(key: string, type?: unknown) {
      const value = data.get(key);
      if (value === undefined) return null;
      const as = typeof type === "object" && type !== null ? (type as { type?: string }).type : type;
      return as === "json" ? JSON.parse(value) : value;
    },
    async getWithMetadata(key: string, type?: unknown) {
      return { value: await kv.get(key, type), metadata: null };
    },
    async put(key: string, value: string) {
      data.set(key, String(value));
    },
    async delete(key: string) {
      data.delete(key);
    },
    async list(opts: { prefix?: string } = {}) {
      const keys = [...data.keys()].filter((k) => k.startsWith(opts.prefix ?? "")).map((name) => ({ name }));
      return { keys, list_complete: true, cacheStatus: null };
    },
  };
  return kv as unknown as KVNamespace;
}

function location(name: string, overrides: Partial<Env> = {}) {
  const locEnv = { ...verbose, ...overrides } as Env;
  return async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`http://${name}.test${path}`, init), locEnv, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

const a = location("a");
const b = location("b", { CACHE: kvOfOneLocation() });

/** The billable units on the request's log line. */
function unitsOfLastRequest(): Units {
  const line = logRecords(lines)
    .filter((l) => l.event === "http_request")
    .at(-1);
  if (!line) throw new Error("no http_request line");
  return Object.fromEntries(UNIT_NAMES.map((n) => [n, line[n]])) as unknown as Units;
}

const write = (key: string, method: string, body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { ...bearer(key), "Content-Type": "application/json", ...extra },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

const operationOf = (res: { body: Record<string, unknown> }) => (res.body as unknown as OperationBody).data;

describe("accepting a write writes nothing to KV", () => {
  it("an accepted POST, PATCH, DELETE or forget: 0 KV writes and deletes at the edge, 1 queue message, with or without an Idempotency-Key", async ({
    admin,
  }) => {
    const domain = uniqueDomain();
    // The API key's own KV entry is filled by its first request: not the write's cost.
    await a(`/v1/operations/${crypto.randomUUID()}`, { headers: bearer(admin) });
    for (const keyed of [false, true]) {
      const extra = (): Record<string, string> => (keyed ? { "Idempotency-Key": crypto.randomUUID() } : {});
      const targets = [1, 2, 3].map((i) => subscriberMessage(`t${i}-${keyed}@${domain}`));
      await runBatch(targets);
      const [patch, del, forget] = targets.map((t) => `/v1/subscribers/${t.subscriber.id}`) as [string, string, string];
      const writes: Array<[string, RequestInit]> = [
        ["/v1/subscribers", write(admin, "POST", { email: `new-${keyed}@${domain}`, name: "N", last_name: "W" }, extra())],
        [patch, write(admin, "PATCH", { name: "P" }, extra())],
        [del, write(admin, "DELETE", undefined, extra())],
        [`${forget}/forget`, write(admin, "POST", undefined, extra())],
      ];
      for (const [path, init] of writes) {
        lines.length = 0;
        const res = await a(path, init);
        expect(res.status, `${init.method} ${path}`).toBe(202);
        expect(unitsOfLastRequest(), `${init.method} ${path} keyed=${keyed}`).toMatchObject({ kv_writes: 0, kv_deletes: 0, queue_sent: 1 });
      }
    }
  });

  it("GET of a fresh operation answers pending before the consumer has run, where it was accepted and elsewhere", async ({
    writer,
    reader,
    db,
  }) => {
    // The consumer has not run: this location's queue holds the messages until the test delivers them.
    const held: unknown[] = [];
    const queue = { send: async (body: unknown) => void held.push(body), sendBatch: async () => {} } as unknown as Queue;
    const here = location("a", { SUBSCRIBER_QUEUE: queue });
    const domain = uniqueDomain();
    const signed = operationOf(await here("/v1/subscribers", write(writer, "POST", { email: `p@${domain}`, name: "P", last_name: "Q" })));
    const keyed = operationOf(
      await here(
        "/v1/subscribers",
        write(writer, "POST", { email: `k@${domain}`, name: "K", last_name: "Q" }, { "Idempotency-Key": crypto.randomUUID() }),
      ),
    );
    expect(held).toHaveLength(2);
    for (const op of [signed, keyed]) {
      // Where it was accepted: its view, with the subscriber it creates.
      const there = await a(`/v1/operations/${op.id}`, { headers: bearer(reader) });
      expect(there.status).toBe(200);
      expect(operationOf(there)).toMatchObject({
        id: op.id,
        status: "pending",
        kind: "subscriber.create",
        subscriber_id: op.subscriber_id,
      });
      // Elsewhere: the id alone says it is pending and what kind it is.
      const elsewhere = await b(`/v1/operations/${op.id}`, { headers: bearer(reader) });
      expect(elsewhere.status).toBe(200);
      expect(operationOf(elsewhere)).toMatchObject({ id: op.id, status: "pending", kind: "subscriber.create", subscriber_id: null });
    }
    expect(await operationsOf(db, [signed.id, keyed.id])).toHaveLength(0);
    await runBatch(held);
    for (const op of [signed, keyed]) {
      for (const loc of [a, b]) {
        const done = await loc(`/v1/operations/${op.id}`, { headers: bearer(reader) });
        expect(operationOf(done)).toMatchObject({ id: op.id, status: "succeeded", subscriber_id: op.subscriber_id });
      }
    }
  });

  it("an operation id this edge did not sign is a 404 without a storage read", async ({ reader, writer }) => {
    const op = operationOf(await a("/v1/subscribers", write(writer, "POST", { email: `f@${uniqueDomain()}`, name: "F", last_name: "G" })));
    const hex = op.id.replaceAll("-", "");
    // Version 8 (the keyed form) with a tag that does not hold, and a random UUIDv4.
    const forged = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    for (const id of [forged, crypto.randomUUID()]) {
      lines.length = 0;
      const res = await a(`/v1/operations/${id}`, { headers: bearer(reader) });
      expect(res.status).toBe(404);
      // The API key only (in isolate memory or KV): no operation is looked up.
      expect(unitsOfLastRequest()).toMatchObject({ db_round_trips: 0, kv_writes: 0 });
      expect(unitsOfLastRequest().kv_reads).toBeLessThanOrEqual(1);
    }
  });
});

describe("idempotency across locations", () => {
  it("the same Idempotency-Key sent at once through two locations yields one operation and one subscriber", async ({ writer, db }) => {
    for (let round = 0; round < 3; round++) {
      const domain = uniqueDomain();
      const key = crypto.randomUUID();
      const init = write(writer, "POST", { email: `same@${domain}`, name: "S", last_name: "K" }, { "Idempotency-Key": key });
      const [ra, rb] = await Promise.all([a("/v1/subscribers", init), b("/v1/subscribers", init)]);
      expect([ra.status, rb.status]).toEqual([202, 202]);
      const [opA, opB] = [operationOf(ra), operationOf(rb)];
      expect(opB.id).toBe(opA.id);
      expect(opB.subscriber_id).toBe(opA.subscriber_id);
      const [row] = await waitForOperations(db, [opA.id]);
      expect(row).toMatchObject({ status: "succeeded", subscriberId: opA.subscriber_id });
      expect(row!.requestMac).toMatch(/^[0-9a-f]{64}$/);
      expect(await storedIn(db, domain)).toHaveLength(1);
      // A later retry at either location is a replay of that one operation.
      for (const loc of [a, b]) {
        const again = await loc("/v1/subscribers", init);
        expect(again.headers.get("idempotent-replayed")).toBe("true");
        expect((again.body as { meta: { operation: { id: string } } }).meta.operation.id).toBe(opA.id);
      }
    }
  });

  it("another request under the same key at another location at once: only the first accepted applies; the other is refused", async ({
    writer,
    db,
  }) => {
    const domain = uniqueDomain();
    const key = crypto.randomUUID();
    const first = write(writer, "POST", { email: `x@${domain}`, name: "First", last_name: "K" }, { "Idempotency-Key": key });
    const other = write(writer, "POST", { email: `y@${domain}`, name: "Other", last_name: "K" }, { "Idempotency-Key": key });
    const [ra, rb] = await Promise.all([a("/v1/subscribers", first), b("/v1/subscribers", other)]);
    expect([ra.status, rb.status]).toEqual([202, 202]);
    const id = operationOf(ra).id;
    expect(operationOf(rb).id).toBe(id);
    await waitForOperations(db, [id]);
    // One request of the two was applied; the consumer logged the other as a conflict, not applied.
    const stored = await storedIn(db, domain);
    expect(stored).toHaveLength(1);
    await waitFor(async () => lines.some((l) => l.includes('"idempotency_conflict"') && l.includes(id)), 15_000, "the conflict's log line");
    const [winner, loser] = stored[0]!.name === "First" ? [first, other] : [other, first];
    // Now Postgres has the operation: at either location the winner replays, the loser is a 422.
    for (const loc of [a, b]) {
      expect((await loc("/v1/subscribers", winner)).headers.get("idempotent-replayed")).toBe("true");
      const refused = await loc("/v1/subscribers", loser);
      expect(refused.status).toBe(422);
      expect((refused.body as { errors?: Array<{ field: string }> }).errors?.[0]?.field).toBe("Idempotency-Key");
    }
  });

  it("the same key for another kind of write is another request: refused once the first is known", async ({ writer, db }) => {
    const target = subscriberMessage(`kind@${uniqueDomain()}`);
    await runBatch([target]);
    const key = crypto.randomUUID();
    const path = `/v1/subscribers/${target.subscriber.id}`;
    const patched = await a(path, write(writer, "PATCH", { name: "Renamed" }, { "Idempotency-Key": key, Prefer: "wait=10" }));
    expect(patched.status).toBe(200);
    const refused = await b(path, write(writer, "DELETE", undefined, { "Idempotency-Key": key }));
    expect(refused.status).toBe(422);
    expect((await storedIn(db, target.subscriber.email.split("@")[1]!))[0]).toMatchObject({ name: "Renamed" });
  });
});
