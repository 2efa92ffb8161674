import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { readCounters } from "../src/db/repositories/counters.ts";
import { subscribers } from "../src/db/schema.ts";
import { resetIsolateMemory } from "../src/lib/isolate-memory.ts";
import type { Stats } from "../src/stats/schema.ts";
import type { SubscriberStatus } from "../src/subscribers/schema.ts";
import { SUBSCRIBER_STATUSES } from "../src/subscribers/schema.ts";
import type { Envelope } from "./helpers.ts";
import { bearer, call, createTestKey, setProviderDocuments, testDb, uniqueDomain } from "./helpers.ts";
import { it, sync } from "./plan-helpers.ts";
import { deleteMessage, forgetMessage, runBatch, storedIn, subscriberMessage, updateMessage } from "./queue-helpers.ts";

// The counters behind /v1/stats (migration 0008) against a COUNT over the tables, after workloads
// that go through every path that writes subscribers or plans, and some SQL that bypasses them all.

let db: DbHandle;
let reader: string;

beforeAll(async () => {
  db = testDb();
  reader = await createTestKey(db, ["subscribers:read"], "stats-reader");
});
afterAll(() => db.close());

type Comparison = {
  counted: Record<string, number>;
  kept: Record<string, number>;
  plans_counted: { total: number; searchable: number };
  plans_kept: { total: number; searchable: number };
};

/** Both sides in one statement, so one snapshot: a write committing in between cannot make them differ. */
async function compare(): Promise<Comparison> {
  const { rows } = await db.db.execute<Comparison>(sql`
    select
      (select coalesce(json_object_agg(status, n), '{}') from (select status, count(*) as n from subscribers group by status) s) as counted,
      (select json_build_object('active', sum(active), 'unsubscribed', sum(unsubscribed), 'unconfirmed', sum(unconfirmed),
                                'bounced', sum(bounced), 'junk', sum(junk)) from subscriber_counts) as kept,
      (select json_build_object('total', count(*), 'searchable', count(*) filter (where ever_online)) from plans) as plans_counted,
      (select json_build_object('total', total, 'searchable', searchable) from plan_counts) as plans_kept`);
  return rows[0]!;
}

async function expectCountersExact(): Promise<Comparison> {
  const c = await compare();
  const counted = Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, Number(c.counted[s] ?? 0)]));
  const kept = Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, Number(c.kept[s])]));
  expect(kept).toEqual(counted);
  expect({ total: Number(c.plans_kept.total), searchable: Number(c.plans_kept.searchable) }).toEqual({
    total: Number(c.plans_counted.total),
    searchable: Number(c.plans_counted.searchable),
  });
  return c;
}

const statusesIn = async (domain: string) => {
  const rows = await storedIn(db, domain);
  const by: Partial<Record<SubscriberStatus, number>> = {};
  for (const r of rows) by[r.status] = (by[r.status] ?? 0) + 1;
  return by;
};

describe("subscriber counters", () => {
  it("equal a COUNT after concurrent batches of creates, updates, status changes, deletes, erasures, redeliveries and failures", {
    timeout: 60_000,
  }, async () => {
    await expectCountersExact();
    const domain = uniqueDomain();
    // Four batches at once, as production consumers run them: every status, 20 subscribers each.
    const creates = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 25 }, (_, i) => subscriberMessage(`c${b}-${i}@${domain}`, { status: SUBSCRIBER_STATUSES[i % 5]! })),
    );
    const created = await Promise.all(creates.map((bodies) => runBatch(bodies)));
    for (const { result } of created) expect(result.retryMessages).toEqual([]);
    expect(await statusesIn(domain)).toEqual({ active: 20, unsubscribed: 20, unconfirmed: 20, bounced: 20, junk: 20 });
    await expectCountersExact();

    const all = creates.flat().map((m) => m.subscriber);
    const withStatus = (s: SubscriberStatus) => all.filter((x) => x.status === s);
    const [active, unsubscribed, unconfirmed, bounced] = [
      withStatus("active"),
      withStatus("unsubscribed"),
      withStatus("unconfirmed"),
      withStatus("bounced"),
    ];
    const changes = [
      // Unsubscribes and resubscribes.
      ...active.slice(0, 5).map((s) => updateMessage(s.id, { status: "unsubscribed" })),
      ...unsubscribed.slice(0, 4).map((s) => updateMessage(s.id, { status: "active" })),
      ...unconfirmed.slice(0, 3).map((s) => updateMessage(s.id, { status: "bounced" })),
      ...unconfirmed.slice(3, 5).map((s) => updateMessage(s.id, { status: "junk" })),
      // Changes that move no count: a name, the current status again.
      ...active.slice(5, 8).map((s) => updateMessage(s.id, { name: "Renamed" })),
      updateMessage(active[8]!.id, { status: "active" }),
      // Refused: an invalid transition, a failed precondition.
      updateMessage(bounced[0]!.id, { status: "active" }),
      updateMessage(bounced[1]!.id, { status: "unsubscribed" }, { ifMatch: 7 }),
      // Deletes and erasures (by id and by email), one erasure of an address never stored.
      ...active.slice(10, 13).map((s) => deleteMessage(s.id)),
      ...unconfirmed.slice(6, 8).map((s) => deleteMessage(s.id)),
      forgetMessage({ id: bounced[2]!.id }),
      forgetMessage({ email: unsubscribed[6]!.email.toUpperCase() }),
      forgetMessage({ email: `nobody@${domain}` }),
      // A duplicate address (already_exists) and new subscribers beside them.
      subscriberMessage(active[15]!.email),
      subscriberMessage(`late1@${domain}`, { status: "junk" }),
      subscriberMessage(`late2@${domain}`, { status: "active" }),
    ];
    // One poison message in the batch: it is isolated by bisection, so several transactions roll back.
    const poison = subscriberMessage(`poison@${domain}`, { name: "x\u0000y" });
    const first = await runBatch([...changes, poison]);
    expect(first.result.retryMessages).toEqual([]);
    await expectCountersExact();

    // Every message delivered again (already decided), and a delete that overtakes its own create.
    const early = subscriberMessage(`overtaken@${domain}`, { status: "bounced" });
    await runBatch([...changes, deleteMessage(early.subscriber.id)]);
    await runBatch([early]);
    await expectCountersExact();

    expect(await statusesIn(domain)).toEqual({
      active: 20 - 5 + 4 - 3 + 1,
      unsubscribed: 20 + 5 - 4 - 1,
      unconfirmed: 20 - 3 - 2 - 2,
      bounced: 20 + 3 - 1,
      junk: 20 + 2 + 1,
    });
  });

  it("follow SQL that bypasses the consumer, in one statement or many, and a rolled back transaction", async () => {
    const domain = uniqueDomain();
    await runBatch(
      Array.from({ length: 30 }, (_, i) => subscriberMessage(`sql${i}@${domain}`, { status: i % 2 ? "active" : "unconfirmed" })),
    );
    await expectCountersExact();
    await db.db.execute(sql`update subscribers set status = 'junk' where email like ${`%@${domain}`} and status = 'unconfirmed'`);
    await db.db.execute(sql`delete from subscribers where email in (${`sql1@${domain}`}, ${`sql2@${domain}`})`);
    await expectCountersExact();
    const before = await compare();
    await expect(
      db.db.transaction(async (tx) => {
        await tx.delete(subscribers).where(sql`email like ${`%@${domain}`}`);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await compare()).toEqual(before);
    expect(await statusesIn(domain)).toEqual({ active: 14, junk: 14 });
  });

  it("/v1/stats and the repository answer what the counters hold", async () => {
    const c = await expectCountersExact();
    resetIsolateMemory();
    const res = await call("/v1/stats", { headers: bearer(reader) });
    expect(res.status).toBe(200);
    const body = (await res.json<Envelope<Stats>>()).data;
    const counted = Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, Number(c.counted[s] ?? 0)]));
    expect(body.subscribers.by_status).toEqual(counted);
    expect(body.subscribers.total).toBe(Object.values(counted).reduce((a, b) => a + b, 0));
    expect(body.plans).toEqual({ total: Number(c.plans_counted.total), searchable: Number(c.plans_counted.searchable) });
    expect(await readCounters(db.db)).toEqual({ subscribers: counted, plans: body.plans });
  });
});

/** A provider document: each base plan with its sell mode and plan ids (one zone each). */
function planDocument(bases: Array<{ id: string; mode: "online" | "offline"; plans: string[] }>): string {
  const plan = (id: string) =>
    `<plan plan_start_date="2031-05-14T19:00:00" plan_end_date="2031-05-14T21:00:00" plan_id="${id}" sell_from="2031-01-01T00:00:00" sell_to="2031-05-14T18:00:00" sold_out="false"><zone zone_id="1" capacity="10" price="10.00" name="Pista" numbered="false" /></plan>`;
  const base = (b: (typeof bases)[number]) =>
    `<base_plan base_plan_id="${b.id}" sell_mode="${b.mode}" title="Counter ${b.id}">${b.plans.map(plan).join("")}</base_plan>`;
  return `<?xml version="1.0" encoding="UTF-8"?><planList version="1.0"><output>${bases.map(base).join("")}</output></planList>`;
}

describe("plan counters", () => {
  it("equal a COUNT after syncs that add plans, change them, and flip a base plan online", async ({ admin }) => {
    const n = () => String(Math.floor(Math.random() * 1e9));
    const [online, offline] = [n(), n()];
    const before = await expectCountersExact();
    await setProviderDocuments([
      planDocument([
        { id: online, mode: "online", plans: ["1", "2"] },
        { id: offline, mode: "offline", plans: ["1"] },
      ]),
    ]);
    expect((await sync(admin)).body.data.outcome).toBe("ok");
    const added = await expectCountersExact();
    expect(Number(added.plans_kept.total)).toBe(Number(before.plans_kept.total) + 3);
    expect(Number(added.plans_kept.searchable)).toBe(Number(before.plans_kept.searchable) + 2);

    // The offline base plan goes online (ever_online flips), a new plan appears, one vanishes (kept).
    await setProviderDocuments([
      planDocument([
        { id: online, mode: "online", plans: ["2", "3"] },
        { id: offline, mode: "online", plans: ["1"] },
      ]),
    ]);
    expect((await sync(admin)).body.data.outcome).toBe("ok");
    const flipped = await expectCountersExact();
    expect(Number(flipped.plans_kept.total)).toBe(Number(before.plans_kept.total) + 4);
    expect(Number(flipped.plans_kept.searchable)).toBe(Number(before.plans_kept.searchable) + 4);
  });
});
