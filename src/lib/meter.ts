import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Every billable unit one invocation (request, queue batch, cron task) spends, for its log line and
 * for `npm run cost`, which derives the bill from these counts rather than from constants. Names are
 * the log fields. A unit is counted where the code spends it, so a change that adds one shows here.
 * Spent by another invocation and not counted here: a Durable Object's alarm and what it deletes
 * (billed to the object, after the call that set it).
 */
export interface Units {
  kv_reads: number;
  /** Puts. KV bills a write ten times a read and takes one write a second per key. */
  kv_writes: number;
  kv_deletes: number;
  kv_lists: number;
  /** Cache API lookups and stores: not billed, counted to show what they take off KV. */
  cache_matches: number;
  cache_puts: number;
  /** Durable Object calls (RPC), and the storage rows those calls wrote (puts, deletes, setAlarm). */
  do_requests: number;
  do_rows_written: number;
  /** Queue messages sent, in the 64 KB units Queues bills; and messages delivered to a consumer. */
  queue_sent: number;
  queue_received: number;
  /** Statements sent to Postgres (HTTP or WebSocket), transaction control included. */
  db_round_trips: number;
  /** Analytics Engine data points written. */
  ae_points: number;
  /** Log lines emitted (a sampled-out line is not emitted and not counted). */
  log_events: number;
}

export type Unit = keyof Units;

export const newUnits = (): Units => ({
  kv_reads: 0,
  kv_writes: 0,
  kv_deletes: 0,
  kv_lists: 0,
  cache_matches: 0,
  cache_puts: 0,
  do_requests: 0,
  do_rows_written: 0,
  queue_sent: 0,
  queue_received: 0,
  db_round_trips: 0,
  ae_points: 0,
  log_events: 0,
});

const current = new AsyncLocalStorage<Units>();

/**
 * Runs `fn` with `units` as the meter: every unit spent inside (awaited, or deferred with waitUntil)
 * lands on these counts and never on a concurrent invocation's, although the bindings are shared by
 * every request of the isolate.
 */
export function withMeter<T>(units: Units, fn: () => T): T {
  return current.run(units, fn);
}

/** Adds `n` to the running invocation's count of `unit`; outside any invocation it is dropped. */
export function count(unit: Unit, n = 1): void {
  const units = current.getStore();
  if (units) units[unit] += n;
}

/** Queues bill each 64 KB of a message as one operation (of three: write, read, delete). */
export const QUEUE_UNIT_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** The billed 64 KB units of one message body as sent with contentType "json". */
export function queueUnitsOf(body: unknown): number {
  const bytes = encoder.encode(JSON.stringify(body) ?? "").byteLength;
  return Math.max(1, Math.ceil(bytes / QUEUE_UNIT_BYTES));
}

/** The counts as a log line carrying them reports them: that line is one more log event. */
export const unitsWithThisLine = (units: Units): Units => ({ ...units, log_events: units.log_events + 1 });
