// Webhook delivery (outbox relay → queue → signed POST) to a real receiver on loopback, against the
// reference it is held to: a raw loop of signed POSTs from Node to the same receiver, the two
// interleaved in rounds (interleave.ts).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { startWebhookReceiver } from "../webhook-receiver.ts";
import type { HookBehaviour, Received } from "../webhook-receiver-types.ts";
import { interleave, pairedRatio, roundsFor } from "./interleave.ts";
import type { Scenario } from "./scenario-kit.ts";
import { bearer, createMessages, waitForCount } from "./scenario-kit.ts";

/** src/db/repositories/webhooks.ts RELAY_LOCK: the advisory lock that lets one relay run at a time. */
const SETTLE_DRAIN_MS = 6_000;
const RELAY_LOCK = 7_204_311_001;
/** WEBHOOK_ENDPOINT_CONCURRENCY's default: at most this many deliveries in flight to one endpoint. */
const ENDPOINT_CONCURRENCY = 4;

interface HookState {
  received: Received[];
  requests: number;
}

/** Distinct webhook-ids that verified, the time of the last one to arrive, and the duplicates. */
function tally(state: HookState) {
  const seen = new Set<string>();
  let lastAt = 0;
  let duplicates = 0;
  let unverified = 0;
  for (const r of state.received) {
    if (r.verifiedWith < 0) {
      unverified++;
      continue;
    }
    if (seen.has(r.webhookId)) duplicates++;
    else {
      seen.add(r.webhookId);
      lastAt = Math.max(lastAt, r.at);
    }
  }
  return { verified: seen.size, lastAt, duplicates, unverified };
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Slice {
  events: number;
  ms: number;
  rate: number;
  checks: Record<string, unknown>;
}

/**
 * `subscriber.created` events delivered to one endpoint, in rounds. In each round the events are made
 * first, through the real path (queue → consumer → event in the change's transaction), while the
 * bench holds the relay's advisory lock, so every relay the consumer starts finds it busy and they
 * wait in the outbox: the subscriber consumer is not what is measured (nor its delayed cache pass,
 * which is let finish). The lock is then released and one more create is sent; its batch runs the
 * relay, which turns the round's events into deliveries and enqueues them. The clock runs from the
 * round's first delivery row (the relay's first transaction, Postgres clock) to the arrival of its last
 * distinct verified delivery at the receiver (same machine, same clock).
 *
 * The reference, interleaved with those rounds (webhooks, raw, then raw, webhooks, …): as many POSTs,
 * with bodies of the same size (bodies delivered so far with a fresh timestamp), each signed with
 * `new Webhook(secret).sign(…)`, from 4 concurrent loops in this process to another hook of the same
 * receiver with the same secret. 4 is the most the Worker has in flight to one endpoint
 * (WEBHOOK_ENDPOINT_CONCURRENCY).
 */
export const webhooks: Scenario = {
  id: "webhooks",
  label: "webhook events delivered to a local receiver",
  targets: [{ of: "reference", min: 0.3 }],
  async run(stack, opts, runId) {
    const rounds = roundsFor(opts);
    const m = Math.max(2, Math.round(opts.webhookEvents / rounds));
    const api = (path: string, init: RequestInit = {}) =>
      fetch(new URL(path, stack.appUrl), {
        ...init,
        headers: { ...bearer(stack.adminKey), "Content-Type": "application/json", ...init.headers },
      });
    const receiver = await startWebhookReceiver();
    const control = (name: string, init?: RequestInit) => fetch(`${receiver.url}/control/${name}`, init);
    const configure = (name: string, behaviour: HookBehaviour) => control(name, { method: "POST", body: JSON.stringify(behaviour) });
    const hookState = async (name: string) => json<HookState>(await control(name), "receiver");
    const lock = new pg.Client({ connectionString: stack.pgUrl });
    await lock.connect();
    let endpointId: string | undefined;
    try {
      const hook = `bench-${runId}`;
      const created = await json<{ data: { id: string; secret: string } }>(
        await api("/v1/webhooks", {
          method: "POST",
          body: JSON.stringify({ url: `${receiver.url}/hooks/${hook}`, events: ["subscriber.created"], description: "bench" }),
        }),
        "register the endpoint",
      );
      endpointId = created.data.id;
      const secret = created.data.secret;
      await configure(hook, { secrets: [secret] });
      const queue = await stack.app.getQueueProducer<ReturnType<typeof createMessages>[number]>("SUBSCRIBER_QUEUE");
      let delivered: Received[] = [];

      const deliverRound = async (r: number): Promise<Slice> => {
        await lock.query("select pg_advisory_lock($1)", [RELAY_LOCK]);
        // ── m − 1 events into the outbox, the relay held.
        const prefix = `wh-${runId}-${r}-`;
        const messages = createMessages(m, prefix, "Webhook");
        const held = messages.slice(0, -1);
        for (let i = 0; i < held.length; i += 100) {
          await queue.sendBatch(held.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
        }
        const outbox = await waitForCount(
          stack.pool,
          "select count(*)::int as n from subscriber_events where relayed_at is null and data->>'email' like $1",
          [`${prefix}%`],
          held.length,
          300_000,
        );
        if (outbox.count !== held.length)
          throw new Error(`webhooks: ${outbox.count}/${held.length} events in the outbox before the timeout`);
        // The creates' own delayed work (the cache settle pass, CACHE_SETTLE_SECONDS = 2 s after each
        // batch) shares the Worker's thread and Miniflare's KV: let it finish, so the window below holds
        // deliveries only.
        await new Promise((done) => setTimeout(done, SETTLE_DRAIN_MS));
        const before = tally(await hookState(hook)).verified;
        const { rows: now } = await stack.pool.query<{ t: Date }>("select clock_timestamp() as t");
        // ── Release the relay; the last create's batch runs it.
        await lock.query("select pg_advisory_unlock($1)", [RELAY_LOCK]);
        await queue.send(messages.at(-1)!, { contentType: "json" });
        const deadline = Date.now() + 600_000;
        let state = await hookState(hook);
        while (tally(state).verified < before + m && Date.now() < deadline) {
          await new Promise((done) => setTimeout(done, 200));
          state = await hookState(hook);
        }
        const t = tally(state);
        if (t.verified < before + m) throw new Error(`webhooks: ${t.verified - before}/${m} verified deliveries before the timeout`);
        const { rows } = await stack.pool.query<{ first: Date; rows: number }>(
          "select min(created_at) as first, count(*)::int as rows from webhook_deliveries where endpoint_id = $1 and created_at >= $2",
          [endpointId, now[0]!.t],
        );
        const ms = t.lastAt - rows[0]!.first.getTime();
        delivered = state.received.filter((x) => x.verifiedWith >= 0);
        // Jobs that were sent back to wait (order, concurrency) come back within a second as no-ops:
        // they are let pass first so they do not share the machine with the next slice.
        await new Promise((done) => setTimeout(done, 2_000));
        return {
          events: m,
          ms,
          rate: Math.round((m / ms) * 1000),
          checks: { deliveries: rows[0]!.rows, duplicates: t.duplicates, unverified: t.unverified, outbox_fill_ms: Math.round(outbox.ms) },
        };
      };

      const rawRound = async (r: number): Promise<Slice> => {
        const rawHook = `raw-${runId}-${r}`;
        await configure(rawHook, { secrets: [secret] });
        const bodies = delivered.slice(-m).map((x) => JSON.stringify({ type: x.type, timestamp: new Date().toISOString(), data: x.data }));
        if (bodies.length < m) throw new Error(`webhooks raw loop: ${bodies.length} delivered bodies to copy, ${m} needed`);
        const rawUrl = `${receiver.url}/hooks/${rawHook}`;
        const statuses: Record<string, number> = {};
        let next = 0;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: ENDPOINT_CONCURRENCY }, async () => {
            for (let i = next++; i < bodies.length; i = next++) {
              const id = `msg_${randomUUID()}`;
              const at = new Date();
              const body = bodies[i]!;
              const res = await fetch(rawUrl, {
                method: "POST",
                headers: {
                  "Content-Type": "application/json",
                  "User-Agent": "edge-api-bench/1",
                  "webhook-id": id,
                  "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
                  "webhook-signature": new Webhook(secret).sign(id, at, body),
                },
                body,
                redirect: "manual",
              });
              await res.text();
              statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            }
          }),
        );
        const ms = performance.now() - started;
        const raw = tally(await hookState(rawHook));
        if (raw.verified !== m) throw new Error(`webhooks raw loop: ${raw.verified}/${m} verified at the receiver`);
        const bytes = bodies.reduce((sum, b) => sum + b.length, 0);
        return { events: m, ms, rate: Math.round((m / ms) * 1000), checks: { statuses, mean_body_bytes: Math.round(bytes / m) } };
      };

      const s = await interleave<Slice>(rounds, [
        { name: "webhooks", slice: deliverRound },
        { name: "raw", slice: rawRound },
      ]);
      const total = (xs: Slice[]) => Math.round((xs.reduce((a, x) => a + x.events, 0) / xs.reduce((a, x) => a + x.ms, 0)) * 1000);
      return {
        rate: total(s.webhooks!),
        unit: "events/s",
        p50_ms: null,
        p99_ms: null,
        checks: {
          events: m * rounds,
          rounds,
          concurrency: ENDPOINT_CONCURRENCY,
          events_per_s_by_slice: s.webhooks!.map((x) => x.rate),
          by_slice: s.webhooks!.map((x) => ({ ms: Math.round(x.ms), ...x.checks })),
          raw_per_s_by_slice: s.raw!.map((x) => x.rate),
          raw_by_slice: s.raw!.map((x) => x.checks),
        },
        paired: [
          pairedRatio(
            "reference",
            "rate",
            s.webhooks!.map((x) => x.rate),
            s.raw!.map((x) => x.rate),
          ),
        ],
        reference: { label: `raw signed POSTs from Node, ${ENDPOINT_CONCURRENCY} concurrent`, rate: total(s.raw!), unit: "req/s" },
      };
    } finally {
      await lock.query("select pg_advisory_unlock_all()").catch(() => {});
      await lock.end().catch(() => {});
      if (endpointId) await api(`/v1/webhooks/${endpointId}`, { method: "DELETE" }).catch(() => {});
      await receiver.close();
    }
  },
};
