// GET /v1/subscribers filters, both sort orders, cursors both ways, and the indexes behind them.
// Each test seeds its own rows with created_at inside an hour no other test uses (in the years
// 1000-1228, so they never come first in another file's newest-first list) and bounds its queries by
// that hour, so rows other tests insert never show up. The file deletes its rows when it ends.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { SQL } from "drizzle-orm";
import { inArray, sql, TransactionRollbackError } from "drizzle-orm";
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import type { ListQuery } from "../src/db/repositories/subscriber-list.ts";
import { listSubscribersQuery } from "../src/db/repositories/subscriber-list.ts";
import { subscribers } from "../src/db/schema.ts";
import { createApp } from "../src/http/app.ts";
import { encodeCursor } from "../src/lib/pagination.ts";
import type { Subscriber, SubscriberStatus } from "../src/subscribers/schema.ts";
import { it } from "./harness.ts";
import type { ListBody, Problem } from "./helpers.ts";
import { bearer, call, uniqueDomain } from "./helpers.ts";

const HOUR = 3_600_000;

/** A time window of its own for one test: a random hour-aligned start between the years 1000 and ~1228. */
function ownWindow() {
  const start = Date.UTC(1000, 0, 1) + (crypto.getRandomValues(new Uint32Array(1))[0]! % 2_000_000) * HOUR;
  return { start, iso: (offsetMs: number) => new Date(start + offsetMs).toISOString(), end: start + HOUR };
}

interface Seed {
  id: string;
  email: string;
  status: SubscriberStatus;
  createdAt: Date;
  updatedAt: Date;
}

const seeded: string[] = [];
it.afterAll(async ({ db }) => {
  await db.db.delete(subscribers).where(inArray(subscribers.id, seeded));
});

async function seed(db: DbHandle, rows: Seed[]): Promise<Seed[]> {
  await db.db.insert(subscribers).values(rows.map((r) => ({ ...r, name: "L", lastName: "F" })));
  seeded.push(...rows.map((r) => r.id));
  return rows;
}

/** `n` rows in the window: created_at one second apart with some ties, updated_at in another order, mixed statuses. */
function rowsIn(w: ReturnType<typeof ownWindow>, n: number): Seed[] {
  const domain = uniqueDomain();
  const statuses: SubscriberStatus[] = ["active", "bounced", "active", "unsubscribed"];
  return Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    email: `row${i}@${domain}`,
    status: statuses[i % statuses.length]!,
    // Pairs share created_at, so the id has to break ties.
    createdAt: new Date(w.start + 1000 + Math.floor(i / 2) * 1000),
    // Reversed and spread, with its own ties: updated order differs from created order.
    updatedAt: new Date(w.start + 10 * 60_000 + Math.floor((n - i) / 3) * 7000),
  }));
}

/** The model of the list: newest first by the sort column, id descending on ties. */
function expected(rows: Seed[], sort: "created_at" | "updated_at", keep: (r: Seed) => boolean): string[] {
  const at = (r: Seed) => (sort === "created_at" ? r.createdAt : r.updatedAt).getTime();
  return rows
    .filter(keep)
    .sort((a, b) => at(b) - at(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((r) => r.id);
}

async function list(reader: string, query: string): Promise<ListBody<Subscriber>> {
  const res = await call(`/v1/subscribers?${query}`, { headers: bearer(reader) });
  expect(res.status, query).toBe(200);
  return res.json<ListBody<Subscriber>>();
}

const ids = (page: ListBody<Subscriber>) => page.data.map((d) => d.id);
const q = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

describe("list filters", () => {
  it("each filter returns exactly the expected rows, in order", async ({ db, reader }) => {
    const w = ownWindow();
    const rows = await seed(db, rowsIn(w, 14));
    const inWindow = { created_after: w.iso(0), created_before: new Date(w.end).toISOString(), limit: 100 };
    const pivot = rows[6]!; // shares created_at with rows[7]
    const cases: Array<[Record<string, string | number>, string[]]> = [
      [inWindow, expected(rows, "created_at", () => true)],
      [{ ...inWindow, status: "active" }, expected(rows, "created_at", (r) => r.status === "active")],
      // Exclusive bounds: the pivot's created_at excludes the pivot and its tie.
      [{ ...inWindow, created_after: pivot.createdAt.toISOString() }, expected(rows, "created_at", (r) => r.createdAt > pivot.createdAt)],
      [{ ...inWindow, created_before: pivot.createdAt.toISOString() }, expected(rows, "created_at", (r) => r.createdAt < pivot.createdAt)],
      // The same instant in another offset, and finer than the column's milliseconds.
      [
        { ...inWindow, created_before: `${new Date(pivot.createdAt.getTime() + HOUR).toISOString().slice(0, 19)}.000001+01:00` },
        expected(rows, "created_at", (r) => r.createdAt <= pivot.createdAt),
      ],
      // Inclusive: the pivot's own updated_at is kept.
      [{ ...inWindow, updated_since: pivot.updatedAt.toISOString() }, expected(rows, "created_at", (r) => r.updatedAt >= pivot.updatedAt)],
      [{ ...inWindow, sort: "updated_at" }, expected(rows, "updated_at", () => true)],
      [
        { ...inWindow, sort: "updated_at", status: "active", updated_since: pivot.updatedAt.toISOString() },
        expected(rows, "updated_at", (r) => r.status === "active" && r.updatedAt >= pivot.updatedAt),
      ],
      // Exact and case-insensitive; no window needed, an email is unique.
      [{ email: rows[3]!.email.toUpperCase() }, [rows[3]!.id]],
      [{ email: ` ${rows[3]!.email} ` }, [rows[3]!.id]],
      [{ email: rows[3]!.email, status: "active" }, []],
      [{ email: rows[3]!.email.slice(1) }, []],
    ];
    for (const [params, want] of cases) {
      const page = await list(reader, q(params));
      expect(ids(page), q(params)).toEqual(want);
      expect(page.meta).toMatchObject({ next_cursor: null, prev_cursor: null });
    }
  });

  it("updated_since alone, with sort=updated_at, is the incremental sync: everything changed since, newest change first", async ({
    db,
    reader,
  }) => {
    // Updated in the year 9000 and after, later than any other test's rows (deleted at the end of the file).
    const since = Date.UTC(9000, 0, 1) + (crypto.getRandomValues(new Uint32Array(1))[0]! % 100_000) * HOUR;
    const w = ownWindow();
    const rows = await seed(
      db,
      rowsIn(w, 6).map((r, i) => ({ ...r, updatedAt: new Date(since + (i - 2) * 1000) })),
    );
    const page = await list(reader, q({ updated_since: new Date(since).toISOString(), sort: "updated_at" }));
    const want = expected(rows, "updated_at", (r) => r.updatedAt.getTime() >= since);
    expect(want).toHaveLength(4);
    expect(ids(page).slice(-4)).toEqual(want);
  });

  it.for(["created_at", "updated_at"] as const)(
    "sort=%s: walking back with prev_cursor gives the pages walking forward gave",
    async (sort, { db, reader }) => {
      const w = ownWindow();
      const rows = await seed(db, rowsIn(w, 23));
      const first = q({ sort, limit: 5, created_after: w.iso(0), created_before: new Date(w.end).toISOString() });
      const forward: ListBody<Subscriber>[] = [await list(reader, first)];
      expect(forward[0]!.meta.prev_cursor).toBeNull();
      expect(forward[0]!.links.prev).toBeNull();
      for (let next = forward[0]!.links.next; next; next = forward.at(-1)!.links.next) {
        forward.push(await list(reader, next.slice(next.indexOf("?") + 1)));
      }
      expect(forward.map((p) => p.data.length)).toEqual([5, 5, 5, 5, 3]);
      expect(forward.flatMap(ids)).toEqual(expected(rows, sort, () => true));
      expect(forward.slice(1).every((p) => p.links.prev?.includes("prev_cursor=") && !p.links.prev.includes("cursor=&"))).toBe(true);

      const backward: ListBody<Subscriber>[] = [forward.at(-1)!];
      for (let prev = backward[0]!.links.prev; prev; prev = backward.at(-1)!.links.prev) {
        // A link carries one cursor parameter only, never both.
        expect(new URL(prev, "http://x").searchParams.has("cursor")).toBe(false);
        backward.push(await list(reader, prev.slice(prev.indexOf("?") + 1)));
      }
      expect(backward.reverse().map(ids)).toEqual(forward.map(ids));
      // Reached backwards, the first page is the first page: no previous one, the same next cursor.
      expect(backward[0]!.meta.prev_cursor).toBeNull();
      expect(backward[0]!.meta.next_cursor).toBe(forward[0]!.meta.next_cursor);
      // Pages reached backwards go forward again with their next link.
      const again = await list(reader, backward[1]!.links.next!.split("?")[1]!);
      expect(ids(again)).toEqual(ids(forward[2]!));
    },
  );

  it("caches each page in the Cache API under a key that covers every parameter and the snapshot, never in KV", async ({ db, reader }) => {
    const w = ownWindow();
    const rows = await seed(db, rowsIn(w, 4));
    const base = { created_after: w.iso(0), created_before: new Date(w.end).toISOString() };
    const kvPagesBefore = (await env.CACHE.list({ prefix: "subs:" })).keys.length;
    expect(ids(await list(reader, q({ ...base, status: "active" })))).toEqual(expected(rows, "created_at", (r) => r.status === "active"));
    // Same status, limit and (no) cursor as a page cached a moment ago: only the email differs.
    expect(ids(await list(reader, q({ ...base, status: "active", email: rows[0]!.email })))).toEqual([rows[0]!.id]);
    expect(ids(await list(reader, q({ ...base, status: "active", sort: "updated_at" })))).toEqual(
      expected(rows, "updated_at", (r) => r.status === "active"),
    );
    expect((await env.CACHE.list({ prefix: "subs:" })).keys.length).toBe(kvPagesBefore);
    // A repeat under the same snapshot is a hit. Any commit (other tests', this suite's deferred
    // work) moves the snapshot, so a few tries are allowed; a page that is never cached fails them all.
    const query = q({ ...base, status: "active" });
    const app = createApp();
    const get = async () => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`http://edge.test/v1/subscribers?${query}`, { headers: bearer(reader) }), env, ctx);
      const page = await res.json<ListBody<Subscriber>>();
      // The page is stored after the answer (waitUntil): the next request can find it.
      await waitOnExecutionContext(ctx);
      expect(ids(page)).toEqual(expected(rows, "created_at", (r) => r.status === "active"));
      return res.headers.get("server-timing") ?? "";
    };
    let outcome = "";
    for (let i = 0; i < 20 && !outcome.includes('cache;desc="hit"'); i++) {
      await get();
      outcome = await get();
    }
    expect(outcome).toContain('cache;desc="hit"');
  });
});

describe("list parameters that are refused", () => {
  const uuid = "01890000-0000-7000-8000-000000000000";

  async function refused(reader: string, query: string): Promise<string[] | undefined> {
    const res = await call(`/v1/subscribers?${query}`, { headers: bearer(reader) });
    expect(res.status, query).toBe(422);
    return (await res.json<Problem>()).errors?.map((e) => e.field);
  }

  it("a cursor used with another sort than its own, in either direction", async ({ db, reader }) => {
    const w = ownWindow();
    await seed(db, rowsIn(w, 4));
    const page = await list(reader, q({ limit: 1, created_after: w.iso(0), created_before: new Date(w.end).toISOString() }));
    const next = page.meta.next_cursor!;
    expect(next).toBeTruthy();
    expect(await refused(reader, q({ cursor: next, sort: "updated_at" }))).toEqual(["cursor"]);
    expect(await refused(reader, q({ prev_cursor: next, sort: "updated_at" }))).toEqual(["prev_cursor"]);
    // With its own sort, the same cursor works both ways.
    await list(reader, q({ cursor: next, sort: "created_at" }));
    await list(reader, q({ prev_cursor: next }));
  });

  it("cursor and prev_cursor together", async ({ reader }) => {
    const c = encodeCursor({ s: "created_at", t: "2030-01-01T00:00:00.000Z", i: uuid });
    expect(await refused(reader, q({ cursor: c, prev_cursor: c }))).toEqual(["prev_cursor"]);
  });

  it.for([
    ["cursor", { s: "created_at", t: "2021-02-30T00:00:00.000Z", i: uuid }],
    ["cursor", { s: "email", t: "2021-02-28T00:00:00.000Z", i: uuid }],
    ["cursor", { s: "created_at", t: "2021-02-28T00:00:00+01:00", i: uuid }],
    ["prev_cursor", { s: "updated_at", t: "0000-01-01T00:00:00.000Z", i: uuid }],
    ["prev_cursor", { s: "updated_at", t: "2021-02-28T00:00:00.000Z", i: "not-a-uuid" }],
    ["prev_cursor", "abc"],
  ] as const)("a malformed %s: %j", async ([field, value], { reader }) => {
    const cursor = typeof value === "string" ? value : encodeCursor(value);
    const sort = typeof value === "object" && value.s === "updated_at" ? "updated_at" : "created_at";
    expect(await refused(reader, q({ [field]: cursor, sort }))).toEqual([field]);
  });

  it("a cursor from before cursors named their sort still reads as created_at", async ({ reader }) => {
    const legacy = encodeCursor({ c: "2030-01-01T00:00:00.000Z", i: uuid });
    await list(reader, q({ cursor: legacy }));
    expect(await refused(reader, q({ cursor: legacy, sort: "updated_at" }))).toEqual(["cursor"]);
  });

  it.for([
    "2021-02-30T00:00:00Z", // no such day
    "2021-01-01T00:00:00", // no offset
    "2021-01-01", // no time
    "2021-01-01T25:00:00Z",
    "yesterday",
    "0000-06-01T00:00:00Z", // Postgres has no year 0
    "0001-01-01T00:30:00+01:00", // year 0 in UTC
    "9999-12-31T23:00:00-02:00", // year 10000 in UTC
  ])("the date %s", async (value, { reader }) => {
    for (const field of ["created_after", "created_before", "updated_since"]) {
      expect(await refused(reader, q({ [field]: value }))).toEqual([`query.${field}`]);
    }
  });

  it("emails that cannot be stored, a sort that does not exist, an unknown parameter", async ({ reader }) => {
    expect(await refused(reader, "email=a%00@b.co")).toEqual(["query.email"]);
    expect(await refused(reader, "email=%C3%A9@b.co")).toEqual(["query.email"]);
    expect(await refused(reader, `email=${"a".repeat(250)}@b.co`)).toEqual(["query.email"]);
    expect(await refused(reader, "sort=email")).toEqual(["query.sort"]);
    expect(await refused(reader, "order=asc")).toEqual(["query"]);
  });
});

describe("every list query reads an index, in order", () => {
  type Plan = { "Node Type": string; "Relation Name"?: string; "Index Name"?: string; "Scan Direction"?: string; Plans?: Plan[] };
  const nodes = (p: Plan): Plan[] => [p, ...(p.Plans ?? []).flatMap(nodes)];

  /**
   * EXPLAIN of exactly the statement the repository sends (the same builder, its parameters bound),
   * with sequential scans and sorts off: what is left is whether an index can hand the rows over in
   * the ORDER BY's order. The planner's own choice on this test database's few hundred rows says
   * nothing about a real table (a bitmap scan and a sort of ten rows costs less than walking an index).
   */
  async function explain(db: DbHandle, query: ListQuery, ddl: SQL[] = []): Promise<Plan[]> {
    let plan: Plan[] = [];
    await db.db
      .transaction(async (tx) => {
        for (const statement of ddl) await tx.execute(statement);
        await tx.execute(sql`SET LOCAL enable_seqscan = off`);
        await tx.execute(sql`SET LOCAL enable_sort = off`);
        const res = await tx.execute<{ "QUERY PLAN": Array<{ Plan: Plan }> }>(
          sql`EXPLAIN (FORMAT JSON) ${listSubscribersQuery(db.db, query)}`,
        );
        plan = nodes(res.rows[0]!["QUERY PLAN"][0]!.Plan);
        // Nothing here is meant to last, the DDL below least of all.
        tx.rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof TransactionRollbackError)) throw err;
      });
    return plan;
  }

  const at = new Date("2026-06-01T00:00:00Z");
  const bounds = {
    none: {},
    created: { createdAfter: new Date("2026-01-01T00:00:00Z"), createdBefore: new Date("2026-12-31T00:00:00Z") },
    updated: { updatedSince: new Date("2026-01-01T00:00:00Z") },
    all: { createdAfter: new Date("2026-01-01T00:00:00Z"), createdBefore: new Date("2026-12-31T00:00:00Z"), updatedSince: at },
  } as const;
  const combos: Array<[string, ListQuery]> = [];
  for (const sort of ["created_at", "updated_at"] as const) {
    for (const status of [undefined, "active"] as const) {
      for (const [boundName, bound] of Object.entries(bounds)) {
        for (const from of [
          undefined,
          { direction: "older", at, id: crypto.randomUUID() },
          { direction: "newer", at, id: crypto.randomUUID() },
        ] as const) {
          for (const email of [undefined, "someone@example.com"]) {
            const query: ListQuery = {
              sort,
              status,
              email,
              createdAfter: undefined,
              createdBefore: undefined,
              updatedSince: undefined,
              ...bound,
              rows: 26,
              from,
            };
            combos.push([
              `sort=${sort} status=${status ?? "-"} bounds=${boundName} from=${from?.direction ?? "-"} email=${email ? "yes" : "-"}`,
              query,
            ]);
          }
        }
      }
    }
  }

  it.for(combos)("%s", async ([_name, query], { db }) => {
    const plan = await explain(db, query);
    const shape = plan.map((n) => `${n["Node Type"]}${n["Index Name"] ? `(${n["Index Name"]})` : ""}`).join(" > ");
    expect(shape).not.toMatch(/Seq Scan|Sort|Bitmap/);
    const scans = plan.filter((n) => n["Relation Name"] === "subscribers");
    if (query.email !== undefined) {
      // The one row by the unique index; every other condition is checked on it.
      expect(
        scans.map((s) => [s["Node Type"], s["Index Name"]]),
        shape,
      ).toEqual([["Index Scan", "subscribers_email_lower_uq"]]);
      return;
    }
    // The sort's own index, behind the status or not (with most rows in one status, walking
    // (sort, id) and filtering the status is as good, and the planner may take it); a previous page
    // reads it backwards.
    const sortIdx = query.sort === "created_at" ? "created" : "updated";
    const allowed = query.status
      ? [`subscribers_status_${sortIdx}_id_idx`, `subscribers_${sortIdx}_id_idx`]
      : [`subscribers_${sortIdx}_id_idx`];
    expect(scans, shape).toHaveLength(1);
    expect(scans[0]!["Node Type"], shape).toBe("Index Scan");
    expect(allowed, shape).toContain(scans[0]!["Index Name"]);
    expect(scans[0]!["Scan Direction"], shape).toBe(query.from?.direction === "newer" ? "Backward" : "Forward");
  });

  it("the check above would have caught the indexes drizzle declared before (DESC NULLS LAST): a sort", async ({ db }) => {
    const query = combos[0]![1];
    const plan = await explain(db, query, [
      sql`DROP INDEX subscribers_created_id_idx`,
      sql`CREATE INDEX subscribers_created_id_idx ON subscribers (created_at DESC NULLS LAST, id DESC NULLS LAST)`,
    ]);
    expect(plan.map((n) => n["Node Type"])).toContain("Sort");
  });
});
