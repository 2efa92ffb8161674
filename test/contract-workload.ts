// The contract test's workload: every operation of the document, its successes and its error
// statuses (401, 403, 404, 409, 412, 413, 415, 422, 429, 502, 503 where reachable).
import { env } from "cloudflare:workers";
import type { Data } from "./contract-client.ts";
import { expectStatus, k, person, state, tooBig, unknown, wait } from "./contract-client.ts";
import { appWith, createTestKey, databaseDown, providerFault, testDb, uniqueDomain } from "./helpers.ts";
import { ALL } from "./plan-helpers.ts";
import { hook, hookName } from "./webhook-helpers.ts";

export async function publicRoutes() {
  await expectStatus(200, "GET", "/health");
  await expectStatus([200, 503], "GET", "/ready");
  for (const path of [`/search${ALL}`, `/v1/plans${ALL}&limit=2`]) {
    const etag = (await expectStatus(200, "GET", path)).headers.get("etag") ?? "";
    await expectStatus(304, "GET", path, { headers: { "If-None-Match": etag, Origin: "https://app.example" } });
  }
  await expectStatus(400, "GET", "/search?starts_at=nope");
  await expectStatus(422, "GET", "/v1/plans?starts_at=nope");
  await expectStatus(422, "GET", "/v1/plans?bogus=1");
  const plans = await expectStatus(200, "GET", `/v1/plans${ALL}&limit=1`);
  const planPath = `/v1/plans/${plans.json<Data<{ id: string }[]>>().data[0]?.id}`;
  const etag = (await expectStatus(200, "GET", planPath)).headers.get("etag") ?? "";
  await expectStatus(304, "GET", planPath, { headers: { "If-None-Match": etag } });
  await expectStatus(404, "GET", `/v1/plans/${unknown}`);
  await expectStatus(422, "GET", "/v1/plans/nope");
}

export async function subscriberRoutes() {
  const w = { key: k.writer };
  await expectStatus(401, "POST", "/v1/subscribers", { json: person("c") });
  await expectStatus(401, "POST", "/v1/subscribers", { json: person("c"), key: "sk_live_not_a_key" });
  await expectStatus(403, "POST", "/v1/subscribers", { json: person("c"), key: k.reader });
  await expectStatus(415, "POST", "/v1/subscribers", { ...w, body: JSON.stringify(person("c")), type: "text/plain" });
  await expectStatus(400, "POST", "/v1/subscribers", { ...w, body: "{", type: "application/json" });
  await expectStatus(413, "POST", "/v1/subscribers", { ...w, body: tooBig, type: "application/json" });
  await expectStatus(422, "POST", "/v1/subscribers", { ...w, json: { email: "nope" } });
  await expectStatus(202, "POST", "/v1/subscribers", { ...w, json: person("c") });
  const first = person("c");
  const created = (await expectStatus(201, "POST", "/v1/subscribers", { ...w, json: first, headers: wait })).json<Data<{ id: string }>>();
  const id = created.data.id;
  await expectStatus(409, "POST", "/v1/subscribers", { ...w, json: first, headers: wait });
  await expectStatus([200, 201], "POST", "/v1/subscribers", { key: k.writeOnly, json: person("c"), headers: wait });
  const one = `/v1/subscribers/${id}`;
  const etag = (await expectStatus(200, "GET", one, { key: k.reader })).headers.get("etag") ?? "";
  await expectStatus(304, "GET", one, { key: k.reader, headers: { "If-None-Match": etag } });
  await expectStatus(200, "GET", `/v1/subscribers/${encodeURIComponent(first.email)}`, { key: k.reader });
  await expectStatus(404, "GET", `/v1/subscribers/${unknown}`, { key: k.reader });
  await expectStatus(422, "GET", "/v1/subscribers/junk", { key: k.reader });
  await expectStatus(200, "GET", "/v1/subscribers?limit=2", { key: k.reader });
  await expectStatus(422, "GET", "/v1/subscribers?cursor=a&prev_cursor=b", { key: k.reader });
  await expectStatus(200, "PATCH", one, { ...w, json: { name: "Changed" }, headers: wait });
  await expectStatus([200, 202], "PATCH", one, { key: k.writeOnly, json: { name: "Again" }, headers: wait });
  await expectStatus(202, "PATCH", one, { ...w, json: { last_name: "Queued" } });
  await expectStatus(412, "PATCH", one, { ...w, json: { name: "Stale" }, headers: { ...wait, "If-Match": '"999"' } });
  await expectStatus(422, "PATCH", one, { ...w, json: {} });
  await expectStatus(404, "PATCH", `/v1/subscribers/${unknown}`, { ...w, json: { name: "Nobody" } });
  await expectStatus(415, "PATCH", one, { ...w, body: "{}", type: "application/vnd.api+json" });
  await expectStatus(400, "PATCH", one, { ...w, body: "{", type: "application/json" });
  await expectStatus(413, "DELETE", one, { ...w, body: "{}", type: "application/json" });
  await expectStatus(422, "DELETE", one, { ...w, headers: { "If-Match": "bogus" } });
  await expectStatus(404, "DELETE", `/v1/subscribers/${unknown}`, w);
  const op = (await expectStatus(202, "DELETE", one, w)).json<Data<{ id: string }>>().data.id;
  await expectStatus(200, "GET", `/v1/operations/${op}`, { key: k.reader });
  await expectStatus(404, "GET", `/v1/operations/${unknown}`, { key: k.reader });
  await expectStatus(422, "GET", "/v1/operations/x", { key: k.reader });
  const other = (await expectStatus(201, "POST", "/v1/subscribers", { ...w, json: person("c"), headers: wait })).json<
    Data<{ id: string }>
  >();
  await expectStatus(204, "DELETE", `/v1/subscribers/${other.data.id}`, { ...w, headers: wait });
  const erase = `/v1/subscribers/${encodeURIComponent(first.email)}/forget`;
  await expectStatus(403, "POST", erase, w);
  await expectStatus(413, "POST", erase, { key: k.eraser, body: "{}", type: "application/json" });
  await expectStatus(422, "POST", "/v1/subscribers/junk/forget", { key: k.eraser });
  await expectStatus(202, "POST", `/v1/subscribers/gone-${crypto.randomUUID().slice(0, 8)}@${uniqueDomain()}/forget`, { key: k.eraser });
  await expectStatus(204, "POST", erase, { key: k.eraser, headers: wait });
  // Erased with its subscriber: 410, not the 404 of an id that never existed.
  await expectStatus(410, "GET", `/v1/operations/${op}`, { key: k.reader });
  // A create re-sent with its Idempotency-Key after the erasure: 410, and nothing is stored again.
  const again = person("c");
  const idem = { ...wait, "Idempotency-Key": crypto.randomUUID() };
  await expectStatus(201, "POST", "/v1/subscribers", { ...w, json: again, headers: idem });
  await expectStatus(204, "POST", `/v1/subscribers/${encodeURIComponent(again.email)}/forget`, { key: k.eraser, headers: wait });
  await expectStatus(410, "POST", "/v1/subscribers", { ...w, json: again, headers: idem });
  await lookupRoute(first.email);
  await expectStatus(200, "GET", "/v1/stats", { key: k.reader });
  // A key allowed one request a minute: the second is a 429 with Retry-After and RateLimit-*.
  const limited = appWith({ DEFAULT_KEY_RATE_LIMIT: "1", DEFAULT_KEY_RATE_PERIOD_SECONDS: "60" });
  const db = testDb();
  const once = await createTestKey(db, ["subscribers:read"], "contract-limited");
  await db.close();
  await expectStatus(200, "GET", "/v1/stats", { key: once, via: limited });
  await expectStatus(429, "GET", "/v1/stats", { key: once, via: limited });
  await databaseDown(async () => {
    await expectStatus(503, "GET", `/v1/subscribers?email=${encodeURIComponent(person("down").email)}`, { key: k.reader });
    await expectStatus(503, "POST", "/v1/admin/api-keys", { key: k.admin, json: { name: "down", scopes: ["subscribers:read"] } });
  });
}

/** POST /v1/subscribers/lookup (an email in a body, not in the URL), where the document has it. */
async function lookupRoute(erased: string) {
  if (!state.contract?.operationIds.includes("lookupSubscriber")) return;
  const w = { key: k.writer };
  const made = (await expectStatus(201, "POST", "/v1/subscribers", { ...w, json: person("l"), headers: wait })).json<
    Data<{ email: string }>
  >();
  const found = await expectStatus(200, "POST", "/v1/subscribers/lookup", { key: k.reader, json: { email: made.data.email } });
  const etag = found.headers.get("etag") ?? "";
  await expectStatus(304, "POST", "/v1/subscribers/lookup", {
    key: k.reader,
    json: { email: made.data.email },
    headers: { "If-None-Match": etag },
  });
  await expectStatus(404, "POST", "/v1/subscribers/lookup", { key: k.reader, json: { email: erased } });
  await expectStatus(422, "POST", "/v1/subscribers/lookup", { key: k.reader, json: { email: "nope" } });
  await expectStatus(403, "POST", "/v1/subscribers/lookup", { key: k.writeOnly, json: { email: made.data.email } });
}

export async function adminRoutes() {
  const a = { key: k.admin };
  await expectStatus(404, "GET", "/v1/admin/api-keys");
  await expectStatus(403, "GET", "/v1/admin/api-keys", { key: k.reader });
  await expectStatus(200, "GET", "/v1/admin/api-keys", a);
  await expectStatus(422, "GET", "/v1/admin/api-keys?limit=0", a);
  const key = (
    await expectStatus(201, "POST", "/v1/admin/api-keys", { ...a, json: { name: "contract", scopes: ["subscribers:read"] } })
  ).json<Data<{ id: string }>>();
  await expectStatus(422, "POST", "/v1/admin/api-keys", { ...a, json: {} });
  await expectStatus(415, "POST", "/v1/admin/api-keys", { ...a, body: "{}", type: "text/plain" });
  await expectStatus(400, "POST", "/v1/admin/api-keys", { ...a, body: "{", type: "application/json" });
  await expectStatus(413, "DELETE", `/v1/admin/api-keys/${key.data.id}`, { ...a, body: "{}", type: "application/json" });
  await expectStatus(200, "DELETE", `/v1/admin/api-keys/${key.data.id}`, a);
  await expectStatus(404, "DELETE", `/v1/admin/api-keys/${unknown}`, a);
  await expectStatus(422, "DELETE", "/v1/admin/api-keys/x", a);
  await expectStatus(200, "GET", "/v1/admin/dead-letters", a);
  await expectStatus(422, "GET", "/v1/admin/dead-letters?limit=0", a);
  await expectStatus(200, "POST", "/v1/admin/dead-letters/replay", { ...a, json: { ids: [2_000_000_000] } });
  await expectStatus(400, "POST", "/v1/admin/dead-letters/replay", { ...a, body: "", type: "application/json" });
  await expectStatus(400, "POST", "/v1/admin/dead-letters/replay", { ...a, body: "{", type: "application/json" });
  await expectStatus(413, "POST", "/v1/admin/dead-letters/replay", { ...a, body: tooBig, type: "application/json" });
  await expectStatus(415, "POST", "/v1/admin/dead-letters/replay", { ...a, body: "{}", type: "application/x-www-form-urlencoded" });
  await expectStatus(422, "POST", "/v1/admin/dead-letters/replay", { ...a, json: { ids: [] } });
  await expectStatus(200, "GET", "/v1/admin/status", a);
  await expectStatus(422, "GET", "/v1/admin/status?window=year", a);
  await expectStatus(200, "GET", "/v1/admin/metrics", a);
  await expectStatus(200, "GET", "/v1/admin/metrics", { ...a, headers: { Accept: "application/openmetrics-text; version=1.0.0" } });
  await expectStatus(200, "POST", "/v1/admin/plans/sync", a);
  await expectStatus(413, "POST", "/v1/admin/plans/sync", { ...a, body: "{}", type: "application/json" });
  await expectStatus(200, "GET", "/v1/admin/plans/sync", a);
  await providerFault("503");
  try {
    await expectStatus([502, 503], "POST", "/v1/admin/plans/sync", a);
  } finally {
    await providerFault("none");
    await env.CACHE.delete("provider:breaker:v1");
  }
}

export async function webhookRoutes() {
  const h = { key: k.hooks };
  const url = await hook(hookName("contract"), { secrets: [] });
  await expectStatus(403, "POST", "/v1/webhooks", { key: k.reader, json: { url, events: ["subscriber.created"] } });
  await expectStatus(422, "POST", "/v1/webhooks", { ...h, json: { url: "not a url", events: [] } });
  await expectStatus(415, "POST", "/v1/webhooks", { ...h, body: "{}", type: "text/plain" });
  await expectStatus(400, "POST", "/v1/webhooks", { ...h, body: "{", type: "application/json" });
  const created = (await expectStatus(201, "POST", "/v1/webhooks", { ...h, json: { url, events: ["subscriber.created"] } })).json<
    Data<{ id: string }>
  >();
  const one = `/v1/webhooks/${created.data.id}`;
  await expectStatus(200, "GET", "/v1/webhooks", h);
  await expectStatus(422, "GET", "/v1/webhooks?limit=0", h);
  await expectStatus(200, "GET", one, h);
  await expectStatus(404, "GET", `/v1/webhooks/${unknown}`, h);
  await expectStatus(422, "GET", "/v1/webhooks/x", h);
  await expectStatus(200, "PATCH", one, { ...h, json: { description: "contract" } });
  await expectStatus(422, "PATCH", one, { ...h, json: {} });
  await expectStatus(404, "PATCH", `/v1/webhooks/${unknown}`, { ...h, json: { description: "x" } });
  await expectStatus(200, "POST", `${one}/rotate-secret`, h);
  await expectStatus(404, "POST", `/v1/webhooks/${unknown}/rotate-secret`, h);
  const delivery = (await expectStatus(202, "POST", `${one}/test`, h)).json<Data<{ id: string }>>();
  await expectStatus(200, "GET", `${one}/deliveries`, h);
  await expectStatus(404, "GET", `/v1/webhooks/${unknown}/deliveries`, h);
  await expectStatus([202, 409], "POST", `${one}/deliveries/${delivery.data.id}/redeliver`, h);
  await expectStatus(404, "POST", `${one}/deliveries/${unknown}/redeliver`, h);
  await expectStatus(200, "PATCH", one, { ...h, json: { enabled: false } });
  await expectStatus(409, "POST", `${one}/test`, h);
  await expectStatus(413, "DELETE", one, { ...h, body: "{}", type: "application/json" });
  await expectStatus(204, "DELETE", one, h);
  await expectStatus(404, "DELETE", one, h);
}
