import { findRecordedOperations } from "../db/repositories/operations.ts";
import { inIsolateMemory } from "../lib/isolate-memory.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import type { SubscriberWriteMessage } from "./messages.ts";

/**
 * The local stack's write journal (WRITE_JOURNAL=on; config refuses it in production). Cloudflare
 * Queues keep a message until it is acked, across any restart; Miniflare's queue keeps it in memory
 * only, so stopping `npm run dev` (Ctrl-C or kill -9) while Postgres is away would lose every write
 * still queued. With the journal, each accepted write is first put in KV, which wrangler persists
 * under .data/, keyed by its operation id and marked with the isolate that queued it. The every-minute
 * cron (fired by scripts/dev.ts at start-up too) deletes the entries whose operation has an outcome
 * and re-sends the others that a previous process queued: its queue is gone. A re-sent write that was
 * applied meanwhile changes nothing (the consumer skips decided operations). Off, it costs nothing;
 * on, one KV put per write and a list per minute, which production never pays.
 */
const PREFIX = "journal:v1:";
/** Beyond the retry budget of the dev stack's defaults (46 h); an entry the cron never saw does not stay. */
const ENTRY_SECONDS = 14 * 86_400;
/** Entries looked at per cron run. */
const MAX_ENTRIES = 1_000;

interface EntryMeta {
  /** The isolate that queued it. */
  e: string;
}

/** This isolate's identity, made on first use (randomness is not available at module scope in Workers). */
const journalMemory = inIsolateMemory({ epoch: null as string | null }, (m) => {
  m.epoch = null;
});

function epoch(): string {
  journalMemory.epoch ??= crypto.randomUUID();
  return journalMemory.epoch;
}

/** Journals the write (when on), then sends it: the one way a subscriber write enters the queue. */
export async function sendSubscriberWrite(rt: Runtime, message: SubscriberWriteMessage): Promise<void> {
  if (rt.config.writeJournal) {
    await rt.kv.put(`${PREFIX}${message.operation_id}`, JSON.stringify(message), {
      expirationTtl: ENTRY_SECONDS,
      metadata: { e: epoch() } satisfies EntryMeta,
    });
  }
  await rt.queues.subscriberWrites.send(message, { contentType: "json" });
}

/** The cron's pass over the journal; a no-op (no KV operation) when it is off. */
export async function reconcileWriteJournal(rt: Runtime): Promise<Record<string, number>> {
  if (!rt.config.writeJournal) return {};
  const kv = rt.kv;
  const page = await kv.list<EntryMeta>({ prefix: PREFIX, limit: MAX_ENTRIES });
  const entries = page.keys.map((k) => ({ name: k.name, id: k.name.slice(PREFIX.length), epoch: k.metadata?.e }));
  let recorded = new Set<string>();
  try {
    recorded = await findRecordedOperations(
      rt.reader(),
      entries.map((e) => e.id),
    );
  } catch (err) {
    // Postgres away: no outcome is known, so every orphan is re-sent; the consumer retries it.
    rt.log.warn("journal_outcomes_unknown", { error: errorMessage(err) });
  }
  const mine = epoch();
  let done = 0;
  let resent = 0;
  for (const entry of entries) {
    if (recorded.has(entry.id)) {
      await kv.delete(entry.name);
      done++;
    } else if (entry.epoch !== mine) {
      const body = await kv.getText(entry.name);
      if (body === null) continue;
      await kv.put(entry.name, body, { expirationTtl: ENTRY_SECONDS, metadata: { e: mine } satisfies EntryMeta });
      await rt.queues.subscriberWrites.send(JSON.parse(body), { contentType: "json" });
      resent++;
    }
  }
  return { journal_done: done, journal_resent: resent, journal_waiting: entries.length - done - resent };
}
