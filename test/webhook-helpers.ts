// Shared by the webhook tests: the loopback receiver (scripts/lib/webhook-receiver.ts) steered from
// workerd, endpoints through the API, the delivery log read page by page, and subscriber changes
// answered synchronously (Prefer: wait) so a test knows each change's version.
// Rules: a webhook test imports `it` from here, test/harness.ts's `it` with one more fixture, so it
// gets `db`, `admin` (manages webhooks, writes and erases subscribers) and `writer` (subscribers:write
// and :read) the same way; every endpoint a test registers is deleted after it, so later tests (and
// files) do not deliver to it. A helper takes the key it uses as its first parameter.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import type { HookBehaviour, Received } from "../scripts/lib/webhook-receiver-types.ts";
import { webhookEndpoints } from "../src/db/schema.ts";
import { createRuntime } from "../src/runtime.ts";
import type { Subscriber } from "../src/subscribers/schema.ts";
import { sweepDeliveries } from "../src/webhooks/deliver.ts";
import { relayWebhookEvents } from "../src/webhooks/relay.ts";
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret } from "../src/webhooks/schema.ts";
import { it as harness } from "./harness.ts";
import type { Envelope, ListBody, SubscriberBody } from "./helpers.ts";
import { bearer, call, uniqueDomain, waitFor } from "./helpers.ts";

export type { Received };

/** The endpoints registerEndpoint() created during the running test. */
const registered: string[] = [];

export const it = harness.extend("endpointCleanup", { auto: true }, ({ db }, { onCleanup }) => {
  onCleanup(async () => {
    // A delivery still being recorded for the endpoint can deadlock with the cascade (Postgres picks
    // one side, 40P01); the app's side retries, and so does this clean-up.
    for (const id of registered.splice(0)) {
      for (let attempt = 1; ; attempt++) {
        try {
          await db.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
          break;
        } catch (err) {
          const code = (err as { cause?: { code?: string } }).cause?.code;
          if (code !== "40P01" || attempt === 3) throw err;
        }
      }
    }
  });
});

// ---- The receiver ----

/** Configures a fresh hook (its record starts empty) and returns its URL. */
export async function hook(name: string, behaviour: HookBehaviour): Promise<string> {
  const res = await fetch(`${env.TEST_WEBHOOK_RECEIVER_URL}/control/${name}`, { method: "POST", body: JSON.stringify(behaviour) });
  if (!res.ok) throw new Error(`receiver control ${name}: ${res.status}`);
  return `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${name}`;
}

export async function received(name: string): Promise<Received[]> {
  const res = await fetch(`${env.TEST_WEBHOOK_RECEIVER_URL}/control/${name}`);
  return (await res.json<{ received: Received[] }>()).received;
}

export const hookName = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}`;
export const isAck = (r: Received) => typeof r.answered === "number" && r.answered >= 200 && r.answered < 300;
/** A received delivery's subscriber id and version (subscriber events only). */
export const subjectOf = (r: Received) => r.data as { id: string; version: number };

/** Waits until `name` has received deliveries matching `pick`, at least `n` of them. */
export function receivedMatching(name: string, pick: (r: Received) => boolean, n = 1, timeoutMs = 20_000): Promise<Received[]> {
  return waitFor(
    async () => {
      const got = (await received(name)).filter(pick);
      return got.length >= n ? got : undefined;
    },
    timeoutMs,
    `${n} deliveries at ${name}`,
  );
}

// ---- Endpoints and the delivery log ----

export const json = (key: string, extra: Record<string, string> = {}) => ({
  ...bearer(key),
  "Content-Type": "application/json",
  ...extra,
});

export async function registerEndpoint(key: string, url: string, events: string[]): Promise<WebhookEndpointWithSecret> {
  const res = await call("/v1/webhooks", { method: "POST", headers: json(key), body: JSON.stringify({ url, events }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const { data } = await res.json<Envelope<WebhookEndpointWithSecret>>();
  registered.push(data.id);
  return data;
}

export async function endpoint(key: string, id: string): Promise<WebhookEndpoint> {
  const res = await call(`/v1/webhooks/${id}`, { headers: bearer(key) });
  expect(res.status).toBe(200);
  return (await res.json<Envelope<WebhookEndpoint>>()).data;
}

/** The whole delivery log of an endpoint, every page (newest first). */
export async function deliveryLog(key: string, endpointId: string): Promise<WebhookDelivery[]> {
  const all: WebhookDelivery[] = [];
  let cursor: string | undefined;
  do {
    const res = await call(`/v1/webhooks/${endpointId}/deliveries?limit=100${cursor ? `&cursor=${cursor}` : ""}`, {
      headers: bearer(key),
    });
    expect(res.status).toBe(200);
    const page = await res.json<ListBody<WebhookDelivery>>();
    all.push(...page.data);
    cursor = page.meta.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

/** Waits until the log has a delivery matching `pick` and `done` holds for it. */
export function deliveryWhere(
  key: string,
  endpointId: string,
  pick: (d: WebhookDelivery) => boolean,
  done: (d: WebhookDelivery) => boolean,
  timeoutMs = 20_000,
): Promise<WebhookDelivery> {
  return waitFor(
    async () => {
      const d = (await deliveryLog(key, endpointId)).find(pick);
      return d && done(d) ? d : undefined;
    },
    timeoutMs,
    "a delivery in the log",
  );
}

/**
 * What the every-minute cron does for webhooks (relay the outbox, re-enqueue overdue deliveries),
 * run now: a relay that found another one running leaves the rest to this tick.
 */
export async function webhookCronTick(): Promise<void> {
  const rt = createRuntime(env, { run_id: "test" });
  const ctx = createExecutionContext();
  try {
    await relayWebhookEvents(rt);
    await sweepDeliveries(rt, new Date());
  } finally {
    ctx.waitUntil(rt.dispose());
    await waitOnExecutionContext(ctx);
  }
}

// ---- Subscriber changes, answered when applied ----

const wait = { Prefer: "wait=10" };

export async function createSubscriber(key: string, tag = "wh"): Promise<Subscriber> {
  const email = `${tag}.${crypto.randomUUID().slice(0, 6)}@${uniqueDomain()}`;
  const res = await call("/v1/subscribers", {
    method: "POST",
    headers: json(key, wait),
    body: JSON.stringify({ email, name: `N${tag}`, last_name: "Hook", status: "active" }),
  });
  expect(res.status).toBe(201);
  return (await res.json<SubscriberBody>()).data;
}

export async function patchSubscriber(key: string, id: string, changes: Record<string, unknown>): Promise<Subscriber> {
  const res = await call(`/v1/subscribers/${id}`, { method: "PATCH", headers: json(key, wait), body: JSON.stringify(changes) });
  expect(res.status).toBe(200);
  return (await res.json<SubscriberBody>()).data;
}

export async function deleteSubscriber(key: string, id: string): Promise<void> {
  expect((await call(`/v1/subscribers/${id}`, { method: "DELETE", headers: json(key, wait) })).status).toBe(204);
}

export async function forgetSubscriber(key: string, id: string): Promise<void> {
  expect((await call(`/v1/subscribers/${id}/forget`, { method: "POST", headers: json(key, wait) })).status).toBe(204);
}
