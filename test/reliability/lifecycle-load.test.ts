// Mixed lifecycle traffic checked against a model: creates (new addresses and duplicates) and a fifth
// of changes (PATCH name / last_name / status, DELETE) through the real HTTP API at concurrency, plus
// changes sent straight to the queue late, out of order and twice. The final state in Postgres must be
// the accepted changes applied one by one in operation id order (lifecycle-model.ts), with versions and
// events consistent. npm test: 300 requests at concurrency 16; npm run test:reliability: 3,000 at 48.
import { env } from "cloudflare:workers";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SubscriberStatus } from "../../src/subscribers/schema.ts";
import { bearer, call, createTestKey, testDb, uniqueDomain } from "../helpers.ts";
import { waitForOperations } from "../queue-helpers.ts";
import type { AcceptedChange } from "./lifecycle-model.ts";
import type { Random } from "./lifecycle-traffic.ts";
import { checkAgainstModel, explain, random, Traffic } from "./lifecycle-traffic.ts";
import { pool, report } from "./support.ts";

const long = env.RELIABILITY === "long";
const TOTAL = long ? 3_000 : 300;
const CONCURRENCY = long ? 48 : 16;
const POOL = long ? 300 : 40;
const HOT = long ? 40 : 10;

const db = testDb();
let writer: string;
beforeAll(async () => {
  writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "reliability-lifecycle");
});
afterAll(() => db.close());

const statuses: SubscriberStatus[] = ["active", "unsubscribed"];

/** Any non-empty mix of the three fields; status only moves between active and unsubscribed (always allowed both ways). */
function someChanges(rng: Random, tag: string): Extract<AcceptedChange, { kind: "subscriber.update" }>["changes"] {
  for (;;) {
    const changes = {
      ...(rng.chance(0.5) ? { name: `N${tag}` } : {}),
      ...(rng.chance(0.4) ? { last_name: `L${tag}` } : {}),
      ...(rng.chance(0.5) ? { status: rng.pick(statuses) } : {}),
    };
    if (Object.keys(changes).length > 0) return changes;
  }
}

describe(`reliability: ${TOTAL} mixed lifecycle requests at concurrency ${CONCURRENCY}, checked against a model`, () => {
  it("ends in the state of the accepted changes applied in operation id order; versions and events consistent; no 5xx", {
    timeout: long ? 300_000 : 60_000,
  }, async () => {
    const started = Date.now();
    const seed = Math.floor(Math.random() * 2 ** 31);
    const rng = random(seed);
    const domain = uniqueDomain();
    const traffic = new Traffic(writer);

    // The pool: created through the API and stored before the mixed traffic starts.
    const poolEmails = Array.from({ length: POOL }, (_, i) => `pool${i}@${domain}`);
    await pool(poolEmails, CONCURRENCY, (email, i) =>
      traffic.create(email, { name: `Pool${i}`, last_name: "Member", status: statuses[i % 2]! }),
    );
    expect(traffic.accepted).toHaveLength(POOL);
    await waitForOperations(
      db,
      traffic.accepted.map((c) => c.op),
      30_000,
    );
    const members = traffic.accepted.map((c) => ({ id: c.id, email: (c as { email: string }).email }));
    // Each pool address read by email once, as a client looking it up would: the edge then knows it
    // (the consumer writes no copy of its own) and answers a create of it 409 until its delete is applied.
    await pool(members, CONCURRENCY, async (m) => {
      const res = await call(`/v1/subscribers/${encodeURIComponent(m.email)}`, { headers: bearer(writer) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    });
    const hot = members.slice(0, HOT);
    // Late creates of taken addresses and late deletes go to different halves of the pool. A create the
    // edge accepted after a delete of the address's holder, but before that delete was applied, needs
    // the edge not to know the address (it answers 409 from the cache); the consumer decides such a
    // create by what it has applied so far (already_exists), which the accepted order cannot show.
    const forLateCreates = members.slice(0, POOL / 2);
    const forLateDeletes = members.slice(POOL / 2);

    // Operation ids taken now and delivered during the traffic: every one is older than all of it.
    const stale = () => uuidv7();
    const newEmails: string[] = [];
    type Job = (i: number) => Promise<void>;
    const jobs: Job[] = [];
    const staleJobs: Job[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const r = rng.next();
      if (r < 0.5) {
        const email = `new${i}@${domain}`;
        newEmails.push(email);
        jobs.push(() => traffic.create(email, { name: `New${i}`, last_name: "Load", status: rng.pick(statuses) }));
      } else if (r < 0.7) {
        // Duplicates racing their originals (case variants and exact copies), with their own data.
        jobs.push(async () => {
          const email = newEmails.length ? rng.pick(newEmails) : `new${i}@${domain}`;
          await traffic.create(rng.chance(0.5) ? email.toUpperCase() : email, { name: `Dup${i}`, last_name: "Load", status: "active" });
        });
      } else if (r < 0.8) {
        // A pool address again: 409 while the edge knows it, accepted (and created anew) once it was deleted.
        jobs.push(() => traffic.create(rng.pick(members).email, { name: `Again${i}`, last_name: "Load", status: "active" }));
      } else if (r < 0.95) {
        jobs.push(async () => {
          const target = rng.chance(0.8)
            ? rng.pick(hot)
            : { id: undefined, email: rng.pick(newEmails.length ? newEmails : [`new0@${domain}`]) };
          await traffic.patch(target.id && rng.chance(0.5) ? target.id : target.email, someChanges(rng, `${i}`));
        });
      } else {
        jobs.push(async () => {
          const target = rng.chance(0.5) ? rng.pick(hot) : rng.pick(members);
          await traffic.delete(rng.chance(0.5) ? target.id : target.email);
        });
      }
      // Beside every tenth request, one change straight to the queue: late (an operation id older than
      // all the traffic) or a redelivery of a change already accepted.
      if (i % 10 === 0) {
        const kind = rng.int(5);
        const member = rng.pick(hot);
        const op = stale();
        if (kind === 0)
          staleJobs.push(() =>
            traffic.send("stale_update", { kind: "subscriber.update", op, id: member.id, changes: someChanges(rng, `S${i}`) }),
          );
        else if (kind === 1)
          staleJobs.push(() =>
            traffic.send("stale_create_taken_address", {
              kind: "subscriber.create",
              op,
              id: uuidv7(),
              email: rng.pick(forLateCreates).email,
              name: `Late${i}`,
              last_name: "Load",
              status: "active",
            }),
          );
        else if (kind === 2)
          staleJobs.push(() =>
            traffic.send("stale_create_new_address", {
              kind: "subscriber.create",
              op,
              id: uuidv7(),
              email: `late${i}@${domain}`,
              name: `Late${i}`,
              last_name: "Load",
              status: "unsubscribed",
            }),
          );
        else if (kind === 3)
          staleJobs.push(() => traffic.send("stale_delete", { kind: "subscriber.delete", op, id: rng.pick(forLateDeletes).id }));
        else staleJobs.push(() => traffic.redeliver(rng));
      }
    }
    // The direct sends are spread through the HTTP traffic.
    const all = rng.shuffle([...jobs, ...staleJobs]);
    await pool(all, CONCURRENCY, (job, i) => job(i));
    // And a twentieth of everything accepted is delivered once more at the end.
    await Promise.all(Array.from({ length: Math.ceil(traffic.accepted.length / 20) }, () => traffic.redeliver(rng)));
    const sentMs = Date.now() - started;

    const { differing, history, outcomes, counts } = await checkAgainstModel(db, domain, traffic.accepted, long ? 240_000 : 40_000);
    report("mixed lifecycle load against the model", {
      seed,
      requests: TOTAL,
      concurrency: CONCURRENCY,
      pool: POOL,
      statuses: traffic.statuses,
      direct_to_queue: traffic.direct,
      unavailable_503_retried: traffic.unavailableRetried,
      ...counts,
      history_problems: history.length,
      sent_s: Math.round(sentMs / 100) / 10,
      total_s: Math.round((Date.now() - started) / 100) / 10,
    });
    expect(traffic.serverErrors()).toEqual([]);
    // The short run must not even need a retry; the long one may, on a small machine (reported).
    if (!long) expect(traffic.unavailableRetried).toEqual({});
    expect(Object.keys(traffic.statuses).sort()).toEqual(expect.arrayContaining(["POST 202", "PATCH 202", "DELETE 202"]));
    for (const k of Object.keys(traffic.statuses))
      expect(["POST 202", "POST 409", "PATCH 202", "PATCH 404", "DELETE 202", "DELETE 404"]).toContain(k);
    expect(differing.length, explain(differing, traffic.accepted, outcomes)).toBe(0);
    expect(history.slice(0, 10)).toEqual([]);
    expect(outcomes.filter((o) => o.status === "failed" && o.errorCode !== "already_exists" && o.errorCode !== "not_found")).toEqual([]);
  });
});
