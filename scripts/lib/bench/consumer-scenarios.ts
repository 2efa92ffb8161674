// The queue consumer (enqueue → stored) and the reference it is held to: a raw INSERT from Node.
import pg from "pg";
import type { Scenario } from "./scenario-kit.ts";
import { createMessages, waitForCount } from "./scenario-kit.ts";

/**
 * Enqueue → durable: N messages go into the real (Miniflare) queue through the Worker's own producer
 * binding; the clock stops when Postgres holds all N rows (counted by a query, not by the consumer).
 */
export const consumer: Scenario = {
  id: "consumer",
  label: "queue consumer, enqueue → stored",
  target: { of: "raw_insert", min: 0.4 },
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

/** The reference: the same rows, multi-row INSERT of 100 per statement over one Node connection. */
export const rawInsert: Scenario = {
  id: "raw_insert",
  label: "raw multi-row INSERT from Node (pg)",
  async run(stack, opts, runId) {
    const messages = createMessages(opts.consumerRows, `raw-${runId}-`, "Consumer");
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
