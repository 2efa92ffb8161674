import { cached, safeDelete, safePut, withoutFreshness } from "../cache/read-through.ts";
import { findSubscribersByIds } from "../db/repositories/subscribers.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/index.ts";
import type { SubscriberSettleMessage } from "./messages.ts";
import { cacheKeys, subscriberCaching, toSubscriberView } from "./model.ts";
import type { StoreResult } from "./writes.ts";

/**
 * After commit, the cache learns what changed: new and changed subscribers are written through
 * (replacing any cached absence, arming the edge's 409 for a known address, and letting the edge
 * accept changes to them while Postgres is down: a read on a miss could not), removed ones are
 * deleted, and list pages move to a new version. Then a settle message, delayed by
 * CACHE_SETTLE_SECONDS, does it again from Postgres: that undoes a reader's fill that read the old
 * state before this commit and wrote it after this pass (docs/api.md "Cache bounds"). The stats
 * need nothing: their counters moved in the same transaction (src/stats/service.ts).
 */
export async function writeThrough(rt: Runtime, result: StoreResult): Promise<void> {
  const touched = [...result.saved.map((r) => ({ id: r.id, email: r.email })), ...result.removed];
  if (touched.length === 0) return;
  forgetStats();
  const writes: Promise<unknown>[] = [];
  for (const row of result.saved) writes.push(putSubscriber(rt, toSubscriberView(row)));
  for (const r of result.removed) writes.push(dropSubscriber(rt, r.id, await cacheKeys.byEmail(r.email)));
  writes.push(safePut(rt, cacheKeys.listVersion, Date.now().toString(36)));
  await Promise.all(writes);
  const settleMessage: SubscriberSettleMessage = {
    type: "subscriber.settle",
    v: 1,
    subscribers: await Promise.all(touched.map(async (t) => ({ id: t.id, email_key: await cacheKeys.byEmail(t.email) }))),
  };
  try {
    await rt.queues.subscriberWrites.send(settleMessage, { contentType: "json", delaySeconds: rt.config.cacheSettleSeconds });
  } catch (err) {
    rt.log.warn("settle_send_failed", { subscribers: touched.length, error: errorMessage(err) });
  }
}

async function putSubscriber(rt: Runtime, view: ReturnType<typeof toSubscriberView>): Promise<void> {
  const { entry, storeSeconds } = subscriberCaching(rt.config);
  await Promise.all([
    safePut(rt, cacheKeys.byId(view.id), entry(view), storeSeconds),
    safePut(rt, await cacheKeys.byEmail(view.email), entry(view), storeSeconds),
  ]);
}

const dropSubscriber = (rt: Runtime, id: string, emailKey: string | undefined) =>
  Promise.all([safeDelete(rt, cacheKeys.byId(id)), emailKey ? safeDelete(rt, emailKey) : undefined]);

const SETTLE_PARALLELISM = 16;
const FAILED = Symbol("failed");

async function readOrFail(rt: Runtime, key: string): Promise<unknown> {
  try {
    return await rt.cache.get(key);
  } catch (err) {
    rt.log.warn("cache_error", { op: "get", backend: rt.cache.kind, error: errorMessage(err) });
    return FAILED;
  }
}

/**
 * The delayed second pass: each subscriber's cache entries become what Postgres holds now. Entries
 * are read first and written only where they differ (a racing fill happened): KV writes cost ten
 * times reads and are limited per key, and almost always there is nothing to correct. Returns how
 * many subscribers' entries were corrected.
 */
export async function settle(rt: Runtime, subscribers: SubscriberSettleMessage["subscribers"]): Promise<number> {
  const unique = [...new Map(subscribers.map((s) => [s.id, s])).values()];
  const ids = unique.map((s) => s.id);
  const rows = new Map((await findSubscribersByIds(rt.db(), ids)).map((r) => [r.id, r]));
  const asText = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  // A few subscribers at a time: hundreds of parallel reads overwhelm a store (Miniflare's KV answers
  // "internal error"), and a failed read counts as stale (even for a removed subscriber, whose entry it
  // may hide), which would add writes to the overload.
  async function settleOne(s: (typeof unique)[number]): Promise<number> {
    const row = rows.get(s.id);
    const want = row ? asText(cached(toSubscriberView(row))) : null;
    const keys = [cacheKeys.byId(s.id), ...(s.email_key ? [s.email_key] : [])];
    const held = await Promise.all(keys.map((k) => readOrFail(rt, k)));
    if (held.every((h) => h !== FAILED && asText(withoutFreshness(h)) === want)) return 0;
    if (row) await putSubscriber(rt, toSubscriberView(row));
    else await dropSubscriber(rt, s.id, s.email_key);
    return 1;
  }
  const corrected: number[] = [];
  for (let i = 0; i < unique.length; i += SETTLE_PARALLELISM) {
    corrected.push(...(await Promise.all(unique.slice(i, i + SETTLE_PARALLELISM).map(settleOne))));
  }
  const fixes = corrected.reduce<number>((a, b) => a + b, 0);
  // List pages are keyed by the version bumped after the commit, so a page read before it is unreachable.
  if (fixes > 0) await safePut(rt, cacheKeys.listVersion, Date.now().toString(36));
  return fixes;
}
