// The scripted workload behind the /status browser test, against the real stack: plan syncs (one of
// them failed by the provider stand-in), writes with racing duplicates, reads, a dead letter, and
// webhook deliveries to a real receiver (one of them refused).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { startWebhookReceiver, type WebhookReceiver } from "../../scripts/lib/webhook-receiver.ts";
import { Status } from "../../src/status/schema.ts";
import type { Subscriber } from "../../src/subscribers/schema.ts";
import { api, until, WAIT } from "./page-helpers.ts";

const providerUrl = inject("providerUrl");
const databaseUrl = inject("databaseUrl");

async function providerFault(mode: "none" | "503"): Promise<void> {
  const res = await fetch(new URL(`/__fault?mode=${mode}`, providerUrl), { method: "POST" });
  if (!res.ok) throw new Error(`provider fault ${mode}: ${res.status}`);
}

/** Good sync, failed sync (the stand-in answers 503 to every attempt), good sync again. */
async function syncs(): Promise<{ failedStatus: number }> {
  const first = await api("POST", "/v1/admin/plans/sync");
  if (first.status !== 200) throw new Error(`first sync answered ${first.status}`);
  await providerFault("503");
  let failedStatus: number;
  try {
    failedStatus = (await api("POST", "/v1/admin/plans/sync")).status;
  } finally {
    await providerFault("none");
  }
  const last = await api("POST", "/v1/admin/plans/sync");
  if (last.status !== 200) throw new Error(`last sync answered ${last.status}`);
  return { failedStatus };
}

/** Creates, some waited for and some left to the queue, each sent twice at once: one stored, one `already_exists`. */
async function writes(): Promise<Subscriber[]> {
  const stored: Subscriber[] = [];
  for (let i = 0; i < 6; i++) {
    const body = { email: `status.${randomUUID().slice(0, 8)}@example.com`, name: "Ada", last_name: "Lovelace", status: "active" };
    const headers = i % 2 === 0 ? WAIT : {};
    const answers = await Promise.all([api("POST", "/v1/subscribers", body, headers), api("POST", "/v1/subscribers", body, headers)]);
    if (!answers.every((a) => a.status === 201 || a.status === 202 || a.status === 409)) {
      throw new Error(`duplicate creates answered ${answers.map((a) => a.status).join(", ")}`);
    }
    const id = await until(async () => {
      const r = await api<{ data: Subscriber }>("POST", "/v1/subscribers/lookup", { email: body.email });
      return r.status === 200 ? r.body.data : undefined;
    }, `subscriber ${i} stored`);
    stored.push(id);
  }
  // Reads through the cache (the requests' cache hit ratio) and the public search.
  for (const s of stored) await api("GET", `/v1/subscribers/${s.id}`);
  await api("GET", "/search?starts_at=2000-01-01T00:00:00Z&ends_at=2100-01-01T00:00:00Z");
  return stored;
}

/**
 * A write the database refused, as the dead-letter consumer stores it (a name with a control
 * character, which the edge itself would refuse with a 422, so it can only arrive here).
 */
async function deadLetter(): Promise<void> {
  const message = {
    type: "subscriber.create",
    v: 1,
    operation_id: randomUUID(),
    requested_at: new Date().toISOString(),
    subscriber: {
      id: randomUUID(),
      email: `poison.${randomUUID().slice(0, 8)}@example.com`,
      name: "Bell\u0007",
      last_name: "X",
      status: "active",
    },
  };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      "insert into dead_letters (queue, message_id, body, body_format, reason, attempts) values ('subscriber-writes', $1, $2, 'json', 'invalid_data', 1)",
      [randomUUID(), JSON.stringify(message)],
    );
  } finally {
    await client.end();
  }
}

/** Two endpoints on a real receiver: one gets test events (the first answered 500), the other is disabled. */
async function webhooks(receiver: WebhookReceiver): Promise<void> {
  const created = await api<{ data: { id: string; secret: string } }>("POST", "/v1/webhooks", {
    url: `${receiver.url}/hooks/status`,
    events: ["subscriber.created"],
  });
  if (created.status !== 201) throw new Error(`creating a webhook endpoint answered ${created.status}`);
  const { id, secret } = created.body.data;
  await fetch(`${receiver.url}/control/status`, { method: "POST", body: JSON.stringify({ secrets: [secret], script: [500] }) });
  for (let i = 0; i < 3; i++) {
    const sent = await api("POST", `/v1/webhooks/${id}/test`);
    if (sent.status !== 202) throw new Error(`webhook test answered ${sent.status}`);
  }
  const other = await api<{ data: { id: string } }>("POST", "/v1/webhooks", {
    url: `${receiver.url}/hooks/off`,
    events: ["subscriber.deleted"],
  });
  await api("PATCH", `/v1/webhooks/${other.body.data.id}`, { enabled: false });
}

const some = (series: Array<number | null>) => series.some((v) => v !== null && v > 0);

/**
 * Runs the workload, then waits until GET /v1/admin/status (checked against the contract) shows all
 * of it: request rollups are flushed at most once a minute per isolate, so this can take a minute.
 */
export async function runStatusWorkload(): Promise<{ status: Status; failedStatus: number; close: () => Promise<void> }> {
  const receiver = await startWebhookReceiver();
  try {
    const { failedStatus } = await syncs();
    await writes();
    await deadLetter();
    await webhooks(receiver);
    const status = await until(
      async () => {
        const res = await api<unknown>("GET", "/v1/admin/status?window=hour");
        if (res.status !== 200) throw new Error(`GET /v1/admin/status answered ${res.status}`);
        const s = Status.parse((res.body as { data: unknown }).data);
        const ready =
          s.plans.syncs.some((r) => r.outcome === "failed") &&
          some(s.writes.applied) &&
          some(s.writes.failed) &&
          s.writes.dead_letters_waiting > 0 &&
          s.requests.groups.some((g) => some(g.per_minute)) &&
          s.requests.groups.some((g) => g.cache_hit_ratio.some((v) => v !== null)) &&
          some(s.webhooks.deliveries_per_minute) &&
          s.webhooks.endpoints_disabled > 0;
        if (ready) return s;
        await new Promise((r) => setTimeout(r, 2_000));
        return undefined;
      },
      "the workload in GET /v1/admin/status",
      150_000,
    );
    return { status, failedStatus, close: receiver.close };
  } catch (e) {
    await receiver.close();
    throw e;
  }
}
