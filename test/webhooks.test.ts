// Webhooks end to end: subscriber changes through the real API and queue, the outbox relay, the
// delivery queue and a real HTTP receiver on loopback that verifies Standard Webhooks signatures with
// the same library. Events reach the endpoints subscribed to them and no others; a receiver that
// fails three ways gets the event on the fourth attempt; the API refuses unsafe URLs, shows a secret
// only once and needs its scope.
import { describe, expect } from "vitest";
import type { Envelope, ListBody } from "./helpers.ts";
import { bearer, call, expectProblem, waitFor } from "./helpers.ts";
import type { Received } from "./webhook-helpers.ts";
import {
  createSubscriber,
  deleteSubscriber,
  deliveryLog,
  deliveryWhere,
  forgetSubscriber,
  hook,
  hookName,
  isAck,
  it,
  json,
  patchSubscriber,
  received,
  receivedMatching,
  registerEndpoint,
  subjectOf,
} from "./webhook-helpers.ts";

const ofSubscribers = (ids: string[]) => (r: Received) => r.type.startsWith("subscriber.") && ids.includes(subjectOf(r).id);
const summary = (rs: Received[]) => rs.map((r) => `${subjectOf(r).id}:${subjectOf(r).version}:${r.type}`).sort();

describe("each event type reaches the endpoints subscribed to it, and only those", () => {
  it("created, updated, unsubscribed, deleted and forgotten, signed, with the subscriber's view and version", {
    timeout: 60_000,
  }, async ({ admin }) => {
    const [nameA, nameB] = [hookName("types-a"), hookName("types-b")];
    // A and B split the five types between them: every type has an endpoint that must get it and one that must not.
    const a = await registerEndpoint(admin, await hook(nameA, { secrets: [] }), [
      "subscriber.created",
      "subscriber.unsubscribed",
      "subscriber.forgotten",
    ]);
    const b = await registerEndpoint(admin, await hook(nameB, { secrets: [] }), ["subscriber.updated", "subscriber.deleted"]);
    await hook(nameA, { secrets: [a.secret] });
    await hook(nameB, { secrets: [b.secret] });

    const x1 = await createSubscriber(admin, "types");
    const y1 = await createSubscriber(admin, "types");
    const x2 = await patchSubscriber(admin, x1.id, { name: "Renamed" });
    const x3 = await patchSubscriber(admin, x1.id, { status: "unsubscribed" });
    await deleteSubscriber(admin, x1.id);
    // Erasure drops pending deliveries: forget y only once its creation has arrived.
    await receivedMatching(nameA, (r) => r.type === "subscriber.created" && subjectOf(r).id === y1.id);
    await forgetSubscriber(admin, y1.id);

    const ids = [x1.id, y1.id];
    await receivedMatching(nameA, ofSubscribers(ids), 4);
    await receivedMatching(nameB, ofSubscribers(ids), 2);
    // Both logs settled (every delivery succeeded): nothing else is on its way to either endpoint.
    for (const ep of [a, b])
      await waitFor(async () => (await deliveryLog(admin, ep.id)).every((d) => d.status === "succeeded"), 10_000, "settled log");
    expect(summary(await received(nameA))).toEqual(
      [
        `${x1.id}:1:subscriber.created`,
        `${x1.id}:3:subscriber.unsubscribed`,
        `${y1.id}:1:subscriber.created`,
        `${y1.id}:2:subscriber.forgotten`,
      ].sort(),
    );
    expect(summary(await received(nameB))).toEqual([`${x1.id}:2:subscriber.updated`, `${x1.id}:4:subscriber.deleted`].sort());

    const all = [...(await received(nameA)), ...(await received(nameB))];
    for (const r of all) {
      expect(r.verifiedWith, `${r.type} verified with the endpoint's secret`).toBe(0);
      expect(r.answered).toBe(200);
      expect(typeof subjectOf(r).version).toBe("number");
    }
    expect(new Set(all.map((r) => r.webhookId)).size).toBe(all.length);
    const find = (type: string, id: string) => all.find((r) => r.type === type && subjectOf(r).id === id)?.data;
    // data is the subscriber's view as the API shows it at that version; forgotten carries only id and version.
    expect(find("subscriber.created", x1.id)).toEqual(x1);
    expect(find("subscriber.created", y1.id)).toEqual(y1);
    expect(find("subscriber.updated", x1.id)).toEqual(x2);
    expect(find("subscriber.unsubscribed", x1.id)).toEqual(x3);
    expect(find("subscriber.deleted", x1.id)).toMatchObject({ id: x1.id, email: x1.email, version: 4 });
    expect(find("subscriber.forgotten", y1.id)).toEqual({ id: y1.id, version: 2 });
  });

  it("POST …/test sends a signed webhook.test to that endpoint", async ({ admin }) => {
    const name = hookName("test-event");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [] }), ["subscriber.deleted"]);
    await hook(name, { secrets: [ep.secret] });
    const res = await call(`/v1/webhooks/${ep.id}/test`, { method: "POST", headers: bearer(admin) });
    expect(res.status).toBe(202);
    const { data: delivery } = await res.json<Envelope<{ id: string; webhook_id: string; type: string }>>();
    expect(delivery.type).toBe("webhook.test");
    const [got] = await receivedMatching(name, (r) => r.type === "webhook.test");
    expect(got).toMatchObject({ webhookId: delivery.webhook_id, verifiedWith: 0, data: { endpoint_id: ep.id }, answered: 200 });
    const done = await deliveryWhere(
      admin,
      ep.id,
      (d) => d.id === delivery.id,
      (d) => d.status === "succeeded",
    );
    expect(done.attempt_log).toHaveLength(1);
  });
});

describe("retries", () => {
  it("a receiver failing with 500, a timeout and a dropped connection gets the event on the 4th attempt; the log shows all four", {
    timeout: 30_000,
  }, async ({ admin }) => {
    const name = hookName("retry");
    const ep = await registerEndpoint(admin, await hook(name, { secrets: [] }), ["subscriber.created"]);
    await hook(name, { secrets: [ep.secret], script: [500, "hang", "drop"], otherwise: 200 });
    const s = await createSubscriber(admin, "retry");

    const got = await receivedMatching(name, (r) => subjectOf(r).id === s.id && isAck(r));
    const all = (await received(name)).filter((r) => subjectOf(r).id === s.id);
    expect(all.map((r) => r.answered)).toEqual([500, "hang", "drop", 200]);
    expect(all.every((r) => r.verifiedWith === 0)).toBe(true);
    const d = await deliveryWhere(
      admin,
      ep.id,
      (x) => x.subscriber_id === s.id,
      (x) => x.status === "succeeded",
    );
    // One webhook-id for the event, on every attempt.
    expect(new Set(all.map((r) => r.webhookId))).toEqual(new Set([d.webhook_id]));
    expect(got[0]!.webhookId).toBe(d.webhook_id);
    expect(d).toMatchObject({ attempts: 4, last_status_code: 200, last_error: null, subscriber_version: 1, type: "subscriber.created" });
    const [first, second, third, fourth] = d.attempt_log;
    expect(d.attempt_log).toHaveLength(4);
    expect(first).toMatchObject({ status_code: 500, error: null, response_body: "failed" });
    expect(second).toMatchObject({ status_code: null, error: "timeout after 1500 ms" });
    expect(second!.duration_ms).toBeGreaterThanOrEqual(1400);
    expect(third).toMatchObject({ status_code: null });
    expect(third!.error).toMatch(/^request failed/);
    expect(fourth).toMatchObject({ status_code: 200, error: null, response_body: "ok" });
    for (const a of d.attempt_log) expect(a.duration_ms).toBeGreaterThanOrEqual(0);
    // Attempts are spaced by the retry schedule (1, 1, 2 s, ±20 %), in order.
    const at = d.attempt_log.map((a) => Date.parse(a.attempted_at));
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(750);
  });
});

describe("the endpoints API", () => {
  it("refuses private, link-local and metadata addresses with 422 naming url", async ({ admin }) => {
    for (const url of ["http://10.0.0.1/x", "http://169.254.169.254/", "http://192.168.1.2/hook", "http://[fd00::1]/x"]) {
      const res = await call("/v1/webhooks", {
        method: "POST",
        headers: json(admin),
        body: JSON.stringify({ url, events: ["subscriber.created"] }),
      });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(
        problem.errors?.map((e) => e.field),
        url,
      ).toEqual(["url"]);
    }
  });

  it("shows the secret in the create and rotate answers only", async ({ admin }) => {
    const ep = await registerEndpoint(admin, await hook(hookName("secret"), { secrets: [] }), ["subscriber.created"]);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const rotated = await call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: "POST", headers: bearer(admin) });
    expect(rotated.status).toBe(200);
    const { data } = await rotated.json<Envelope<{ secret: string }>>();
    expect(data.secret).toMatch(/^whsec_/);
    expect(data.secret).not.toBe(ep.secret);
    const reads = [
      await call(`/v1/webhooks/${ep.id}`, { headers: bearer(admin) }),
      await call("/v1/webhooks?limit=100", { headers: bearer(admin) }),
      await call(`/v1/webhooks/${ep.id}`, { method: "PATCH", headers: json(admin), body: JSON.stringify({ description: "d" }) }),
      await call(`/v1/webhooks/${ep.id}/deliveries`, { headers: bearer(admin) }),
    ];
    for (const res of reads) {
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain("whsec_");
      expect(text).not.toContain('"secret"');
    }
    const list = await call("/v1/webhooks?limit=100", { headers: bearer(admin) });
    expect((await list.json<ListBody<{ id: string }>>()).data.some((e) => e.id === ep.id)).toBe(true);
  });

  it("needs the webhooks:manage scope: a subscribers:write key gets 403", async ({ admin, writer }) => {
    const ep = await registerEndpoint(admin, await hook(hookName("scope"), { secrets: [] }), ["subscriber.created"]);
    const attempts = [
      call("/v1/webhooks", {
        method: "POST",
        headers: json(writer),
        body: JSON.stringify({ url: "http://127.0.0.1:9/x", events: ["subscriber.created"] }),
      }),
      call("/v1/webhooks", { headers: bearer(writer) }),
      call(`/v1/webhooks/${ep.id}`, { headers: bearer(writer) }),
      call(`/v1/webhooks/${ep.id}/rotate-secret`, { method: "POST", headers: bearer(writer) }),
      call(`/v1/webhooks/${ep.id}/deliveries`, { headers: bearer(writer) }),
      call(`/v1/webhooks/${ep.id}`, { method: "DELETE", headers: bearer(writer) }),
    ];
    for (const res of await Promise.all(attempts)) await expectProblem(res, 403, "forbidden");
  });
});
