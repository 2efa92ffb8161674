// Webhook endpoints and deliveries under concurrent change: the scope that registering needs, a
// claim meeting an erasure of the same deliveries, and a DELETE meeting a delivery being recorded.
import { sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { describe, expect } from "vitest";
import type { DbHandle } from "../src/db/client.ts";
import { claimGroup } from "../src/db/repositories/webhook-claims.ts";
import { purgeSubscriberDeliveries } from "../src/db/repositories/webhooks.ts";
import { webhookDeliveries } from "../src/db/schema.ts";
import { bearer, call, createTestKey, waitFor } from "./helpers.ts";
import { hook, hookName, it, json, registerEndpoint } from "./webhook-helpers.ts";

const receiverUrl = () => hook(hookName("concurrency"), { secrets: [] });

describe("authorization", () => {
  it("registering, changing an endpoint and reading its deliveries need subscribers:read beside webhooks:manage", async ({ db }) => {
    const manageOnly = await createTestKey(db, ["webhooks:manage"], "manage-only");
    const both = await createTestKey(db, ["webhooks:manage", "subscribers:read"], "manage-and-read");
    const body = JSON.stringify({ url: await receiverUrl(), events: ["subscriber.created"] });

    const refused = await call("/v1/webhooks", { method: "POST", headers: json(manageOnly), body });
    expect(refused.status).toBe(403);
    expect((await refused.json<{ required_scope: string }>()).required_scope).toBe("subscribers:read");

    const ep = await registerEndpoint(both, await receiverUrl(), ["subscriber.created"]);
    const patch = await call(`/v1/webhooks/${ep.id}`, {
      method: "PATCH",
      headers: json(manageOnly),
      body: JSON.stringify({ url: "https://example.com/x" }),
    });
    expect(patch.status).toBe(403);
    expect((await call(`/v1/webhooks/${ep.id}/deliveries`, { headers: bearer(manageOnly) })).status).toBe(403);
    const redeliver = await call(`/v1/webhooks/${ep.id}/deliveries/${uuidv7()}/redeliver`, { method: "POST", headers: bearer(manageOnly) });
    expect(redeliver.status).toBe(403);
    // What carries no subscriber data stays open to the manage scope alone.
    expect((await call(`/v1/webhooks/${ep.id}`, { headers: bearer(manageOnly) })).status).toBe(200);
    expect((await call("/v1/webhooks?limit=1", { headers: bearer(manageOnly) })).status).toBe(200);
    expect((await call(`/v1/webhooks/${ep.id}/deliveries`, { headers: bearer(both) })).status).toBe(200);
  });
});

/** A pending delivery of a (made-up) subscriber to this endpoint, due now, with no job: only the test claims it. */
async function pendingDelivery(db: DbHandle, endpointId: string, subscriberId: string): Promise<string> {
  const id = uuidv7();
  await db.db.insert(webhookDeliveries).values({
    id,
    endpointId,
    messageId: `evt_${subscriberId}_1`,
    type: "webhook.test",
    payload: { type: "webhook.test", timestamp: new Date().toISOString(), data: {} },
    subscriberId,
    subscriberVersion: 1,
  });
  return id;
}

/** Waits until some session waits for a lock while running a statement matching `pattern` (ILIKE). */
const lockWaitOn = (db: DbHandle, pattern: string) =>
  waitFor(
    async () => {
      const rows = await db.db.execute<{ n: number }>(
        sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike ${pattern}`,
      );
      return (rows.rows[0]?.n ?? 0) > 0;
    },
    10_000,
    `a lock wait on ${pattern}`,
  );

describe("claims and erasures", () => {
  it("a claim racing an erasure of the same deliveries finds them gone instead of failing", async ({ db, admin }) => {
    const ep = await registerEndpoint(admin, await receiverUrl(), ["subscriber.created"]);
    const subscriberId = crypto.randomUUID();
    const deliveryId = await pendingDelivery(db, ep.id, subscriberId);

    // The erasure deletes the deliveries and holds its transaction open while the claim starts.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let purged = () => {};
    const deleted = new Promise<void>((r) => {
      purged = r;
    });
    const erasure = db.db.transaction(async (tx) => {
      await purgeSubscriberDeliveries(tx, [subscriberId]);
      purged();
      await held;
    });
    await deleted;
    const claim = claimGroup(db.db, ep.id, [deliveryId], { now: new Date(), concurrency: 4, timeoutMs: 1_500 });
    await lockWaitOn(db, "%webhook_deliveries%");
    release();
    await erasure;
    await expect(claim).resolves.toEqual({ kind: "gone" });
  });
});

describe("DELETE /v1/webhooks/{id} meeting a delivery being recorded", () => {
  it("answers 204 after Postgres breaks the deadlock against it", async ({ db, admin }) => {
    const ep = await registerEndpoint(admin, await receiverUrl(), ["subscriber.created"]);
    const deliveryId = await pendingDelivery(db, ep.id, crypto.randomUUID());
    // A recorder's order: its deliveries' rows first, then the endpoint's. The cascade takes the endpoint's first.
    let removed: Promise<Response> | undefined;
    await db.db.transaction(async (tx) => {
      await tx.execute(sql`update webhook_deliveries set attempts = attempts where id = ${deliveryId}`);
      removed = call(`/v1/webhooks/${ep.id}`, { method: "DELETE", headers: bearer(admin) });
      await lockWaitOn(db, "delete from%webhook_endpoints%");
      // Postgres finds the cycle after deadlock_timeout (1 s) on the side that waited first: the DELETE.
      await tx.execute(sql`select id from webhook_endpoints where id = ${ep.id} for no key update`);
    });
    const res = await removed!;
    expect(res.status, await res.clone().text()).toBe(204);
    expect((await call(`/v1/webhooks/${ep.id}`, { headers: bearer(admin) })).status).toBe(404);
  });
});
