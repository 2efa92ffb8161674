// The queue consumer, through Miniflare's queue (enqueue → stored) and driven directly at K concurrent
// batches beside its same-I/O harness; and the reference they are held to: a raw INSERT from Node.
import { randomUUID } from "node:crypto";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { QUEUES } from "../../../src/config/queues.ts";
import { ConfigSchema } from "../../../src/config/schema.ts";
import type { Scenario } from "./scenario-kit.ts";
import { createMessages, waitForCount } from "./scenario-kit.ts";
import type { Stack } from "./stack.ts";

/**
 * Enqueue → durable: N messages go into the real (Miniflare) queue through the Worker's own producer
 * binding; the clock stops when Postgres holds all N rows (counted by a query, not by the consumer).
 */
export const consumer: Scenario = {
  id: "consumer",
  label: "queue consumer via Miniflare's queue, enqueue → stored",
  // No target: Miniflare delivers one batch at a time and waits for its KV writes (consumer_k8 is the target).
  targets: [{ of: "raw_insert" }],
  async run(stack, opts, runId) {
    const messages = createMessages(opts.consumerRows, `cons-${runId}-`, "Consumer");
    const queue = await stack.app.getQueueProducer<(typeof messages)[number]>("SUBSCRIBER_QUEUE");
    const { rows } = await stack.pool.query<{ t: Date }>("select clock_timestamp() as t");
    const started = performance.now();
    for (let i = 0; i < messages.length; i += 100) {
      await queue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
    }
    const enqueueMs = performance.now() - started;
    const done = await waitForCount(
      stack.pool,
      "select count(*)::int as n from subscribers where created_at >= $1 and email like $2",
      [rows[0]!.t, `cons-${runId}-%`],
      messages.length,
      300_000,
    );
    const totalMs = performance.now() - started;
    if (done.count !== messages.length) throw new Error(`consumer: ${done.count}/${messages.length} rows stored before the timeout`);
    const rowsPerS = Math.round((messages.length / totalMs) * 1000);
    return {
      rate: rowsPerS,
      unit: "rows/s",
      p50_ms: null,
      p99_ms: null,
      checks: { rows: messages.length, enqueue_ms: Math.round(enqueueMs), total_ms: Math.round(totalMs) },
    };
  },
};

/** Enough rows for a stable figure: they take a second or two. */
const RAW_ROWS = 20_000;

/** The reference: rows like the consumer's, multi-row INSERT of 100 per statement over one Node connection. */
export const rawInsert: Scenario = {
  id: "raw_insert",
  label: "raw multi-row INSERT from Node (pg)",
  async run(stack, _opts, runId) {
    const messages = createMessages(RAW_ROWS, `raw-${runId}-`, "Consumer");
    const client = new pg.Client({ connectionString: stack.pgUrl });
    await client.connect();
    try {
      const started = performance.now();
      for (let i = 0; i < messages.length; i += 100) {
        const chunk = messages.slice(i, i + 100);
        const values = chunk.map((_, j) => `($${j * 5 + 1}, $${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5})`).join(", ");
        await client.query(
          `insert into subscribers (id, email, name, last_name, status) values ${values}`,
          chunk.flatMap((m) => [m.subscriber.id, m.subscriber.email, m.subscriber.name, m.subscriber.last_name, m.subscriber.status]),
        );
      }
      const ms = performance.now() - started;
      return {
        rate: Math.round((messages.length / ms) * 1000),
        unit: "rows/s",
        p50_ms: null,
        p99_ms: null,
        checks: { rows: messages.length, total_ms: Math.round(ms) },
      };
    } finally {
      await client.end();
    }
  },
};

/** What Miniflare's getWorker() hands back for a queue event (workers-types' Fetcher.queue, untyped here). */
interface QueueEntry {
  queue(
    queueName: string,
    messages: Array<{ id: string; timestamp: Date; body: unknown; attempts: number }>,
  ): Promise<{ outcome: string; ackAll: boolean; explicitAcks: string[]; retryMessages: unknown[] }>;
}

/**
 * The consumer's handler driven directly through the Worker's queue() entry point, `k` batches of
 * 100 creates in flight at a time, as Cloudflare runs concurrent consumer invocations (Miniflare's own
 * queue delivers one batch at a time and waits for it). New batches start for `seconds`; the clock
 * stops when the last one has returned. Every message must come back acked.
 */
async function driveBatches(mf: Miniflare, prefix: string, k: number, seconds: number): Promise<{ ms: number; rows: number }> {
  const worker = (await mf.getWorker()) as unknown as QueueEntry;
  let batches = 0;
  let acked = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (performance.now() < until) {
        const batch = createMessages(100, `${prefix}${batches++}-`, "Consumer");
        const r = await worker.queue(
          QUEUES.subscriberWrites,
          batch.map((body) => ({ id: randomUUID(), timestamp: new Date(), body, attempts: 1 })),
        );
        if (r.outcome !== "ok") throw new Error(`queue(): outcome ${r.outcome}`);
        acked += r.ackAll ? batch.length : r.explicitAcks.length;
      }
    }),
  );
  const rows = batches * 100;
  if (acked !== rows) throw new Error(`consumer K=${k} (${prefix}): ${acked} of ${rows} messages acked`);
  return { ms: performance.now() - started, rows };
}

/** Rows stored per second by one worker (app or harness) driven with `k` concurrent batches; the rows are counted in Postgres. */
async function handlerRun(stack: Stack, mf: Miniflare, seconds: number, k: number, prefix: string) {
  const { ms, rows } = await driveBatches(mf, prefix, k, seconds);
  const { rows: stored } = await stack.pool.query<{ subscribers: number; events: number; operations: number }>(
    `select count(*)::int as subscribers,
            (select count(*)::int from subscriber_events e join subscribers s on s.id = e.subscriber_id where s.email like $1) as events,
            (select count(*)::int from operations o join subscribers s on s.id = o.subscriber_id where s.email like $1) as operations
       from subscribers where email like $1`,
    [`${prefix}%`],
  );
  const counts = stored[0]!;
  if (counts.subscribers !== rows) throw new Error(`consumer K=${k} (${prefix}): ${JSON.stringify(counts)} stored of ${rows}`);
  // The delayed settle pass runs a few seconds after the batches (a queue message, delivered by
  // Miniflare): let it finish so it does not fall into the next run's window.
  await new Promise((r) => setTimeout(r, (SETTLE_SECONDS + 3) * 1000));
  return { rate: Math.round((rows / ms) * 1000), ms: Math.round(ms), counts };
}

/** The schema's CACHE_SETTLE_SECONDS (the bench does not set it): the settle message's delay. */
const SETTLE_SECONDS = ConfigSchema.shape.CACHE_SETTLE_SECONDS.parse(undefined);

/**
 * The consumer's handler at K concurrent batches, against the same-I/O harness's handler driven the
 * same way (the reference row) and, by target, the raw multi-row INSERT. Harness and app alternate in
 * slices (harness, app, app, harness), each on rows of its own, so that the machine's other load
 * falls on both alike; each side's rate is its rows over its time, summed over its slices.
 */
function consumerHandler(k: number, targets: Scenario["targets"]): Scenario {
  return {
    id: `consumer_k${k}`,
    label: `consumer handler, K=${k} concurrent batches of 100`,
    targets,
    async run(stack, opts, runId) {
      // At least 10 s per side: a K=8 round of batches takes seconds here, and a rate needs several rounds.
      const seconds = Math.max(10, opts.seconds);
      const slices = 2;
      const sides = {
        harness: { mf: stack.harness, rows: 0, ms: 0, events: 0, operations: 0 },
        app: { mf: stack.app, rows: 0, ms: 0, events: 0, operations: 0 },
      };
      const perSlice: string[] = [];
      for (let i = 0; i < slices; i++) {
        // ABBA: harness, app, then app, harness, so neither always runs first.
        const order = i % 2 === 0 ? Object.entries(sides) : Object.entries(sides).reverse();
        for (const [name, side] of order) {
          const r = await handlerRun(stack, side.mf, seconds / slices, k, `${name === "app" ? "ck" : "hk"}${k}-${runId}-${i}-`);
          side.rows += r.counts.subscribers;
          side.events += r.counts.events;
          side.operations += r.counts.operations;
          side.ms += r.ms;
          perSlice.push(`${name} ${r.rate}`);
        }
      }
      const rate = (side: { rows: number; ms: number }) => Math.round((side.rows / side.ms) * 1000);
      const stored = ({ rows, events, operations }: typeof sides.app) => ({ subscribers: rows, events, operations });
      return {
        rate: rate(sides.app),
        unit: "rows/s",
        p50_ms: null,
        p99_ms: null,
        checks: {
          k,
          seconds,
          slices,
          rows_per_s_by_slice: perSlice,
          app_ms: sides.app.ms,
          harness_ms: sides.harness.ms,
          app_stored: stored(sides.app),
          harness_stored: stored(sides.harness),
        },
        reference: { label: `harness: same I/O, K=${k} concurrent batches`, rate: rate(sides.harness), unit: "rows/s" },
      };
    },
  };
}

export const consumerK1 = consumerHandler(1, [{ of: "reference" }, { of: "raw_insert" }]);
export const consumerK8 = consumerHandler(8, [{ of: "raw_insert", min: 0.3 }, { of: "reference" }]);
