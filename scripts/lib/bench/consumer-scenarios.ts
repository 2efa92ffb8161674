// The queue consumer, through Miniflare's queue (enqueue → stored) and driven directly at K concurrent
// batches beside its same-I/O harness; and the reference they are held to: a raw INSERT from Node,
// interleaved with each of them in slices (interleave.ts).
import { randomUUID } from "node:crypto";
import type { Miniflare } from "miniflare";
import pg from "pg";
import { QUEUES } from "../../../src/config/queues.ts";
import { ConfigSchema } from "../../../src/config/schema.ts";
import type { Paired } from "./interleave.ts";
import { interleave, pairedRatio, roundsFor } from "./interleave.ts";
import type { Measurement, Scenario } from "./scenario-kit.ts";
import { createMessages, waitForCount } from "./scenario-kit.ts";
import type { Stack } from "./stack.ts";

/** A slice of rows stored: its rate, and what a side's Measurement sums. */
interface RowSlice {
  rows: number;
  ms: number;
  rate: number;
}

const rowsPerS = (rows: number, ms: number) => Math.round((rows / ms) * 1000);

/** A side's row: its rows over its time, summed over its slices. */
function rowsMeasurement(slices: RowSlice[], checks: Record<string, unknown> = {}): Measurement {
  const rows = slices.reduce((a, x) => a + x.rows, 0);
  const ms = slices.reduce((a, x) => a + x.ms, 0);
  return {
    rate: rowsPerS(rows, ms),
    unit: "rows/s",
    p50_ms: null,
    p99_ms: null,
    checks: { rows, total_ms: Math.round(ms), rows_per_s_by_slice: slices.map((x) => x.rate), ...checks },
  };
}

const pairedRows = (of: string, mine: RowSlice[], ref: RowSlice[]): Paired =>
  pairedRatio(
    of,
    "rate",
    mine.map((x) => x.rate),
    ref.map((x) => x.rate),
  );

/** The schema's CACHE_SETTLE_SECONDS (the bench does not set it): the settle message's delay. */
const SETTLE_SECONDS = ConfigSchema.shape.CACHE_SETTLE_SECONDS.parse(undefined);

/**
 * The delayed settle pass runs a few seconds after a slice's batches (a queue message, delivered by
 * Miniflare): let it finish so it does not fall into the next slice's window.
 */
const settle = () => new Promise((r) => setTimeout(r, (SETTLE_SECONDS + 3) * 1000));

/**
 * Enqueue → durable: `count` messages go into the real (Miniflare) queue through the Worker's own
 * producer binding; the clock stops when Postgres holds all of them (counted by a query, not by the consumer).
 */
async function queueSlice(stack: Stack, count: number, prefix: string): Promise<RowSlice & { enqueueMs: number }> {
  const messages = createMessages(count, prefix, "Consumer");
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
    [rows[0]!.t, `${prefix}%`],
    messages.length,
    300_000,
  );
  const ms = performance.now() - started;
  if (done.count !== messages.length) throw new Error(`consumer: ${done.count}/${messages.length} rows stored before the timeout`);
  await settle();
  return { rows: messages.length, ms, rate: rowsPerS(messages.length, ms), enqueueMs: Math.round(enqueueMs) };
}

/** Enough rows for a stable figure: they take a second or two, split over a scenario's rounds. */
const RAW_ROWS = 20_000;

/** The reference: rows like the consumer's, multi-row INSERT of 100 per statement over one Node connection. */
async function rawSlice(stack: Stack, count: number, prefix: string): Promise<RowSlice> {
  const messages = createMessages(count, prefix, "Consumer");
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
    return { rows: messages.length, ms, rate: rowsPerS(messages.length, ms) };
  } finally {
    await client.end();
  }
}

/** The raw INSERT as a side of a consumer scenario: RAW_ROWS over the scenario's rounds. */
const rawSide = (stack: Stack, rounds: number, prefix: string) => ({
  name: "raw_insert",
  slice: (i: number) => rawSlice(stack, Math.round(RAW_ROWS / rounds), `${prefix}${i}-`),
});

/** No target: Miniflare delivers one batch at a time and waits for its KV writes (consumer_k8 is the target). */
export const consumer: Scenario = {
  id: "consumer",
  label: "queue consumer via Miniflare's queue, enqueue → stored",
  targets: [{ of: "raw_insert" }],
  async run(stack, opts, runId) {
    const rounds = roundsFor(opts);
    const perRound = Math.ceil(opts.consumerRows / rounds / 100) * 100;
    const s = await interleave<RowSlice & { enqueueMs?: number }>(rounds, [
      { name: "consumer", slice: (i) => queueSlice(stack, perRound, `cons-${runId}-${i}-`) },
      rawSide(stack, rounds, `raw-${runId}-cons-`),
    ]);
    return {
      ...rowsMeasurement(s.consumer!, { enqueue_ms_by_slice: s.consumer!.map((x) => x.enqueueMs) }),
      paired: [pairedRows("raw_insert", s.consumer!, s.raw_insert!)],
      also: { raw_insert: rowsMeasurement(s.raw_insert!) },
    };
  },
};

export const rawInsert: Scenario = {
  id: "raw_insert",
  label: "raw multi-row INSERT from Node (pg)",
  measuredBy: ["consumer", "consumer_k1", "consumer_k8"],
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
  await settle();
  return { rows, ms, rate: rowsPerS(rows, ms), counts };
}

/**
 * The consumer's handler at K concurrent batches, against the same-I/O harness's handler driven the
 * same way (the reference row) and, by target, the raw multi-row INSERT. The three alternate in
 * slices (app, harness, raw, then raw, harness, app, …), each on rows of its own, so that the
 * machine's other load falls on all alike; each side's rate is its rows over its time, summed over
 * its slices, and each ratio the median of the per-round ones.
 */
function consumerHandler(k: number, targets: Scenario["targets"]): Scenario {
  return {
    id: `consumer_k${k}`,
    label: `consumer handler, K=${k} concurrent batches of 100`,
    targets,
    async run(stack, opts, runId) {
      // At least 5 s per slice: a K=8 round of batches takes seconds here, and a rate needs several of them.
      const rounds = roundsFor(opts);
      const seconds = Math.max(5 * rounds, opts.seconds);
      const s = await interleave<RowSlice & { counts?: { subscribers: number; events: number; operations: number } }>(rounds, [
        { name: "app", slice: (i) => handlerRun(stack, stack.app, seconds / rounds, k, `ck${k}-${runId}-${i}-`) },
        { name: "harness", slice: (i) => handlerRun(stack, stack.harness, seconds / rounds, k, `hk${k}-${runId}-${i}-`) },
        rawSide(stack, rounds, `raw-${runId}-k${k}-`),
      ]);
      const stored = (xs: typeof s.app) => ({
        subscribers: xs!.reduce((a, x) => a + (x.counts?.subscribers ?? 0), 0),
        events: xs!.reduce((a, x) => a + (x.counts?.events ?? 0), 0),
        operations: xs!.reduce((a, x) => a + (x.counts?.operations ?? 0), 0),
      });
      return {
        ...rowsMeasurement(s.app!, { k, seconds, rounds, app_stored: stored(s.app), harness_stored: stored(s.harness) }),
        paired: [pairedRows("reference", s.app!, s.harness!), pairedRows("raw_insert", s.app!, s.raw_insert!)],
        also: { raw_insert: rowsMeasurement(s.raw_insert!) },
        reference: { label: `harness: same I/O, K=${k} concurrent batches`, rate: rowsMeasurement(s.harness!).rate, unit: "rows/s" },
      };
    },
  };
}

export const consumerK1 = consumerHandler(1, [{ of: "reference" }, { of: "raw_insert" }]);
export const consumerK8 = consumerHandler(8, [{ of: "raw_insert", min: 0.3 }, { of: "reference" }]);
