import { dropHotCopy } from "../cache/read-through.ts";
import { purgeParkedMentioning } from "../dead-letters/index.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { holdsPlainHash } from "./idempotency.ts";
import { cacheKeys, emailHash } from "./model.ts";
import { verifyOperationId } from "./operation-id.ts";
import type { StoreResult } from "./writes.ts";

/**
 * An erasure's reach into the edge cache: the subscriber by id and by email, every operation it had
 * that was accepted before ids were signed (later ones are never in KV; a location's Cache API copy
 * of a finished one lives 60 s, src/http/operation-cache.ts), and dead letters parked in KV that
 * mention them. List pages are not purged here: they live in the
 * Cache API under the database snapshot they were read in (src/subscribers/list.ts), so the commit
 * that removed the row makes every page that may show the person unreachable, and the old ones
 * expire with their 60 s TTL. Idempotency records hold only an HMAC of their request and stay, so a
 * replay finds its operation erased and answers 410; only a record in the older form (a plain
 * SHA-256 of the request) is deleted: at most one write per record, as before.
 */
const PURGE_ATTEMPTS = 3;

/**
 * The purge is idempotent, so a failing cache gets a few tries. If it stays down, what is left
 * expires with its TTL (subscriber entries 1 h, older idempotency records 24 h and pending
 * operations 14 days) and the failure is logged with counts only.
 */
export async function purgeErasedWithRetries(rt: Runtime, result: StoreResult): Promise<void> {
  for (let attempt = 1; attempt <= PURGE_ATTEMPTS; attempt++) {
    try {
      await purgeErased(rt, result);
      return;
    } catch (err) {
      if (attempt === PURGE_ATTEMPTS)
        rt.log.error("erasure_cache_purge_failed", { erasures: result.erasures.length, attempts: attempt, error: errorMessage(err) });
      else await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function purgeErased(rt: Runtime, result: StoreResult): Promise<void> {
  if (result.erasures.length === 0) return;
  const keys = new Set<string>();
  const idempotency = new Set<string>();
  const needles: string[] = [];
  for (const e of result.erasures) {
    for (const id of e.subscriberIds) keys.add(cacheKeys.byId(id));
    for (const email of e.emails) keys.add(await cacheKeys.byEmail(email));
    for (const op of e.operations) {
      // Only an operation accepted before ids were signed can have a KV entry.
      if ((await verifyOperationId(rt.config.erasureHashKey, op.id)).form === "unsigned") keys.add(cacheKeys.operation(op.id));
      if (op.idempotencyKey) idempotency.add(op.idempotencyKey);
    }
    needles.push(...e.subscriberIds, ...e.emails);
  }
  // Not safeDelete: a failure here must fail the batch. This isolate's hot copies go too.
  for (const k of [...keys, ...idempotency]) dropHotCopy(rt.cache, k);
  const legacy = await Promise.all([...idempotency].map(async (k) => (holdsPlainHash(await rt.cache.get(k)) ? [k] : [])));
  await Promise.all([...keys, ...legacy.flat()].map((k) => rt.cache.delete(k)));
  await purgeParkedMentioning(rt, needles);
}

/**
 * A forget kept as a dead letter because it is invalid (never to be applied as it is) keeps no
 * address: the email becomes its keyed hash, which is all an operator needs to match it. A forget
 * dead-lettered for an outage keeps its address: the redrive replays it, and the erasure it then
 * applies removes its dead letters like every other mention.
 */
export async function withoutAddress(rt: Runtime, body: unknown): Promise<unknown> {
  if (typeof body !== "object" || body === null || (body as { type?: unknown }).type !== "subscriber.forget") return body;
  const { email, ...rest } = body as Record<string, unknown>;
  if (email === undefined) return body;
  return { ...rest, email_hash: await emailHash(rt.config.erasureHashKey, String(email)) };
}
