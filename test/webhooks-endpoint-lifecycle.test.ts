// Webhook endpoints over time, against the real receiver: a secret rotation's overlap (both
// signatures, then only the new one), an endpoint disabled by a 410 or by days of failures, a failed
// delivery sent again once the receiver recovers, and an erasure purging a subscriber's pending
// deliveries and every receiver answer that echoed the person.
import { eq, sql } from "drizzle-orm";
import { describe, expect } from "vitest";
import { webhookEndpoints } from "../src/db/schema.ts";
import type { Envelope } from "./helpers.ts";
import { bearer, call, waitFor } from "./helpers.ts";
import type { Received } from "./webhook-helpers.ts";
import {
  createSubscriber,
  deliveryLog,
  deliveryWhere,
  endpoint,
  forgetSubscriber,
  hook,
  hookName,
  isAck,
  it,
  patchSubscriber,
  received,
  receivedMatching,
  registerEndpoint,
  subjectOf,
} from "./webhook-helpers.ts";

const about = (id: string) => (r: Received) => r.type.startsWith("subscriber.") && subjectOf(r).id === id;

describe("secret rotation", () => {
  it("signs with both secrets during the overlap, with the new one only after it", { timeout: 30_000 }, async ({ db, admin }) => {
    const name = hookName("rotate");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [] }), ["subscriber.created", "subscriber.updated"]);
    const old = ep.secret;
    await hook(name, { secrets: [old] });
    const s = await createSubscriber(admin, "rotate");
    const [before] = await receivedMatching(name, about(s.id));
    expect(before).toMatchObject({ verifiedWith: 0 });
    expect(before!.signature.split(" ")).toHaveLength(1);

    const res = await call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: "POST", headers: bearer(admin) });
    const fresh = (await res.json<Envelope<{ secret: string; previous_secret_expires_at: string }>>()).data;
    const overlapEnds = Date.parse(fresh.previous_secret_expires_at);
    expect(overlapEnds - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect(overlapEnds - Date.now()).toBeLessThanOrEqual(24 * 3600_000);

    // During the overlap each delivery carries two signatures: a receiver holding only the old
    // secret verifies one delivery, a receiver holding only the new one verifies the next.
    for (const [i, secret] of [old, fresh.secret].entries()) {
      await hook(name, { secrets: [secret] });
      await patchSubscriber(admin, s.id, { name: `Rotated${i}` });
      const [r] = await receivedMatching(name, about(s.id));
      expect(r!.signature.split(" "), "two v1 signatures").toHaveLength(2);
      expect(r!.verifiedWith, i === 0 ? "verified with the old secret" : "verified with the new secret").toBe(0);
    }

    // 24 hours later (the expiry moved into the past): only the new secret signs.
    await db.db
      .update(webhookEndpoints)
      .set({ previousSecretExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(webhookEndpoints.id, ep.id));
    expect((await endpoint(admin, ep.id)).previous_secret_expires_at).toBeNull();
    await hook(name, { secrets: [old, fresh.secret] });
    await patchSubscriber(admin, s.id, { name: "AfterOverlap" });
    const [after] = await receivedMatching(name, about(s.id));
    expect(after!.signature.split(" ")).toHaveLength(1);
    expect(after!.verifiedWith, "the old secret no longer verifies; the new one does").toBe(1);
  });
});

describe("disabling", () => {
  it("an endpoint answering 410 is disabled, says why, and gets no later events", { timeout: 30_000 }, async ({ admin }) => {
    const [gone, witness] = [hookName("gone"), hookName("witness")];
    const ep = await registerEndpoint(admin, await hook(gone, { secrets: [], otherwise: 410 }), [
      "subscriber.created",
      "subscriber.updated",
    ]);
    const w = await registerEndpoint(admin, await hook(witness, { secrets: [] }), ["subscriber.updated"]);
    const s = await createSubscriber(admin, "gone");
    await receivedMatching(gone, about(s.id));
    const disabled = await waitFor(async () => {
      const e = await endpoint(admin, ep.id);
      return e.enabled ? undefined : e;
    });
    expect(disabled.disabled_reason).toMatch(/410/);
    expect(disabled.disabled_at).not.toBeNull();
    const [d] = await deliveryLog(admin, ep.id);
    // 410 is final: no retry.
    expect(d).toMatchObject({ status: "failed", attempts: 1, last_status_code: 410 });

    // A later change reaches the witness endpoint, never the disabled one.
    await patchSubscriber(admin, s.id, { name: "After410" });
    await receivedMatching(witness, about(s.id));
    await new Promise((r) => setTimeout(r, 1500));
    expect((await received(gone)).filter(about(s.id))).toHaveLength(1);
    expect(await deliveryLog(admin, ep.id)).toHaveLength(1);
    expect((await deliveryLog(admin, w.id)).map((x) => x.subscriber_version)).toEqual([2]);
  });

  it("an endpoint failing for more than 3 days is disabled by its next failed attempt, and its record says why", {
    timeout: 30_000,
  }, async ({ db, admin }) => {
    const name = hookName("failing");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [], otherwise: 500 }), ["subscriber.created"]);
    const since = new Date(Date.now() - 3 * 86_400_000 - 3_600_000);
    await db.db.update(webhookEndpoints).set({ failingSince: since }).where(eq(webhookEndpoints.id, ep.id));
    const s = await createSubscriber(admin, "failing");
    await receivedMatching(name, about(s.id));
    const disabled = await waitFor(async () => {
      const e = await endpoint(admin, ep.id);
      return e.enabled ? undefined : e;
    });
    expect(disabled.disabled_reason).toBe(`failing since ${since.toISOString()}`);
    expect(disabled.failing_since).toBe(since.toISOString());
    // The delivery's pending retry finds the endpoint disabled and ends there, without another request.
    const d = await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_id === s.id,
      (x) => x.status === "failed",
    );
    expect(d.attempts).toBe(1);
    expect(d.last_error).toBe("endpoint disabled");
    expect((await received(name)).filter(about(s.id))).toHaveLength(1);
  });
});

describe("redelivery", () => {
  it("a delivery given up after its last retry is sent again under the same webhook-id, with the whole retry schedule", {
    timeout: 45_000,
  }, async ({ admin }) => {
    const name = hookName("redeliver");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [], otherwise: 500 }), ["subscriber.created"]);
    await hook(name, { secrets: [ep.secret], otherwise: 500 });
    const s = await createSubscriber(admin, "redeliver");
    // 1 + 5 retries (schedule 1, 1, 2, 2, 3 s), then failed.
    const failed = await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_id === s.id,
      (x) => x.status === "failed",
      30_000,
    );
    expect(failed).toMatchObject({ attempts: 6, last_status_code: 500 });
    const tries = (await received(name)).filter(about(s.id));
    expect(tries).toHaveLength(6);
    expect(new Set(tries.map((r) => r.webhookId))).toEqual(new Set([failed.webhook_id]));

    // The receiver is back but stumbles once more: the redelivery is retried on schedule, not given up
    // after one try (its attempt count is already past the schedule's length).
    await hook(name, { secrets: [ep.secret], script: [503] });
    const res = await call(`/v1/webhooks/${ep.id}/deliveries/${failed.id}/redeliver`, { method: "POST", headers: bearer(admin) });
    expect(res.status).toBe(202);
    const [stumble, again] = await receivedMatching(name, about(s.id), 2);
    expect(stumble).toMatchObject({ webhookId: failed.webhook_id, answered: 503 });
    expect(again).toMatchObject({ webhookId: failed.webhook_id, verifiedWith: 0, answered: 200, data: s });
    const done = await deliveryWhere(
      admin,
      ep.id,
      (x) => x.id === failed.id,
      (x) => x.status === "succeeded",
    );
    expect(done.attempts).toBe(8);
    expect(done.attempt_log.map((a) => a.status_code)).toEqual([500, 500, 500, 500, 500, 500, 503, 200]);
    expect((await endpoint(admin, ep.id)).failing_since, "a success ends the failing streak").toBeNull();
  });
});

describe("erasure", () => {
  it("purges the subscriber's pending deliveries and every stored receiver answer that echoed the person", {
    timeout: 45_000,
  }, async ({ db, admin }) => {
    const name = hookName("erase");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [] }), ["subscriber.created", "subscriber.updated"]);
    const s = await createSubscriber(admin, "erase");
    await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_id === s.id,
      (x) => x.status === "succeeded",
    );
    // From now on the receiver echoes the person in every answer: one more success ends a delivery, then it fails.
    const renamed = `Erasable${crypto.randomUUID().slice(0, 6)}`;
    await hook(name, { secrets: [ep.secret], script: [200], otherwise: 500, responseBody: `echo ${s.email} ${renamed}` });
    await patchSubscriber(admin, s.id, { name: renamed });
    await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_version === 2,
      (x) => x.status === "succeeded",
    );
    await hook(name, { secrets: [ep.secret], otherwise: 500, responseBody: `echo ${s.email} ${renamed}` });
    await patchSubscriber(admin, s.id, { last_name: "Pending" });
    const pending = await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_version === 3,
      (x) => x.status === "pending" && x.attempt_log.some((a) => a.response_body?.includes(s.email)),
    );
    const finished = (await deliveryLog(admin, ep.id)).find((x) => x.subscriber_version === 2);
    expect(finished?.status).toBe("succeeded");
    expect(finished?.attempt_log[0]?.response_body).toContain(s.email);
    expect(pending.attempt_log.length).toBeGreaterThan(0);

    await forgetSubscriber(admin, s.id);
    const log = await deliveryLog(admin, ep.id);
    expect(
      log.find((x) => x.id === pending.id),
      "the pending delivery is gone",
    ).toBeUndefined();
    expect(log.filter((x) => x.subscriber_id === s.id && x.status === "pending")).toEqual([]);
    for (const d of log.filter((x) => x.subscriber_id === s.id)) for (const a of d.attempt_log) expect(a.response_body).toBeNull();

    // No webhook table holds the address or the names.
    for (const needle of [s.email, renamed]) {
      for (const table of ["webhook_endpoints", "webhook_deliveries", "webhook_attempts"]) {
        const r = await db.db.execute<{ n: number }>(
          sql`select count(*)::int as n from ${sql.identifier(table)} t where strpos(lower(t::text), ${needle.toLowerCase()}) > 0`,
        );
        expect(r.rows[0]?.n, `${needle} in ${table}`).toBe(0);
      }
    }
    // And its retries stop: the queued job finds no delivery (any attempt already in flight ends first).
    await new Promise((r) => setTimeout(r, 2000));
    const settled = (await received(name)).filter(about(s.id)).length;
    await new Promise((r) => setTimeout(r, 4000));
    expect((await received(name)).filter(about(s.id))).toHaveLength(settled);
    expect((await received(name)).some(isAck)).toBe(false);
  });
});
