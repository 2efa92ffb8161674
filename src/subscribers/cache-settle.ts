import { safeDelete, safePut } from "../cache/read-through.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import { findSubscribersByIds } from "../db/repositories/subscribers.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { forgetStats } from "../stats/index.ts";
import type { SubscriberSettleMessage } from "./messages.ts";
import { cacheKeys, subscriberCaching, toSubscriberView } from "./model.ts";
import type { Held } from "./settle-rule.ts";
import { decide } from "./settle-rule.ts";
import type { StoreResult } from "./writes.ts";

/**
 * After commit, the cache is checked, not written through: reads fill on a miss, and a KV write
 * costs ten reads and is limited to one a second per key. Only subscribers that may have a cached
 * copy are checked: changed and removed ones. A create needs nothing (no absence is ever cached,
 * src/subscribers/model.ts), which keeps the consumer's writes off the common case entirely. Each key
 * is read and written only where it is wrong (see `decide`). Then a settle message, delayed by
 * CACHE_SETTLE_SECONDS, does the same again from Postgres: that undoes a reader's fill that read the
 * old state before this commit and wrote it after this pass (docs/api.md "Cache bounds"). List
 * pages need nothing: their key names the database snapshot they were read under
 * (src/subscribers/list.ts). The stats need nothing either: their counters moved in the same
 * transaction (src/stats/service.ts).
 */
export async function checkAfterCommit(rt: Runtime, result: StoreResult): Promise<void> {
  if (result.saved.length + result.removed.length === 0) return;
  forgetStats();
  // An erasure's own purge already deleted its subscriber's entries (erasure-purge.ts).
  const erased = new Set(result.erasures.flatMap((e) => e.subscriberIds));
  const changed = result.saved.filter((r) => r.version > 1);
  const targets = await Promise.all(
    [...changed.map((r) => ({ id: r.id, email: r.email })), ...result.removed].map(async (t) => ({
      id: t.id,
      email_key: await cacheKeys.byEmail(t.email),
    })),
  );
  if (targets.length === 0) return;
  const rows = new Map(changed.map((r) => [r.id, r]));
  await correct(
    rt,
    targets.filter((t) => !erased.has(t.id)),
    rows,
  );
  const settleMessage: SubscriberSettleMessage = { type: "subscriber.settle", v: 1, subscribers: targets };
  try {
    await rt.queues.subscriberWrites.send(settleMessage, { contentType: "json", delaySeconds: rt.config.cacheSettleSeconds });
  } catch (err) {
    rt.log.warn("settle_send_failed", { subscribers: targets.length, error: errorMessage(err) });
  }
}

/**
 * The delayed pass: each subscriber's cache entries checked against what Postgres holds now.
 * Returns how many keys it wrote or deleted.
 */
export async function settle(rt: Runtime, subscribers: SubscriberSettleMessage["subscribers"]): Promise<number> {
  const unique = [...new Map(subscribers.map((s) => [s.id, s])).values()];
  const rows = new Map(
    (
      await findSubscribersByIds(
        rt.db(),
        unique.map((s) => s.id),
      )
    ).map((r) => [r.id, r]),
  );
  return correct(rt, unique, rows);
}

const PARALLELISM = 16;

async function readOrFail(rt: Runtime, key: string): Promise<Held> {
  try {
    return { ok: true, value: await rt.cache.get(key) };
  } catch (err) {
    rt.log.warn("cache_error", { op: "get", backend: rt.cache.kind, error: errorMessage(err) });
    return { ok: false };
  }
}

/**
 * A few subscribers at a time: hundreds of parallel reads overwhelm a store (Miniflare's KV answers
 * "internal error"), and a failed read counts as wrong, which would add writes to the overload.
 */
async function correct(rt: Runtime, targets: SubscriberSettleMessage["subscribers"], rows: Map<string, SubscriberRow>): Promise<number> {
  const { entry, storeSeconds } = subscriberCaching(rt.config);
  async function one(t: (typeof targets)[number]): Promise<number> {
    const row = rows.get(t.id);
    const keys = [cacheKeys.byId(t.id), ...(t.email_key ? [t.email_key] : [])];
    const held = await Promise.all(keys.map((k) => readOrFail(rt, k)));
    const now = Date.now();
    const work = keys.map((key, i) => {
      const action = decide(held[i]!, row, now);
      if (action === "put") return safePut(rt, key, entry(toSubscriberView(row!)), storeSeconds).then(() => 1);
      if (action === "delete") return safeDelete(rt, key).then(() => 1);
      return 0;
    });
    return (await Promise.all(work)).reduce<number>((a, b) => a + b, 0);
  }
  let fixes = 0;
  for (let i = 0; i < targets.length; i += PARALLELISM) {
    for (const n of await Promise.all(targets.slice(i, i + PARALLELISM).map(one))) fixes += n;
  }
  return fixes;
}
