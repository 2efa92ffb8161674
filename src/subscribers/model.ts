import { cached } from "../cache/read-through.ts";
import type { Config } from "../config/index.ts";
import { isDatabaseDown } from "../db/errors.ts";
import type { OperationRow } from "../db/repositories/operations.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import { hmacSha256Hex, sha256Hex } from "../lib/crypto.ts";
import type { Operation, OperationErrorCode, Subscriber } from "./schema.ts";
import { OPERATION_ERROR_CODES, OPERATION_KINDS } from "./schema.ts";

/** Uniqueness is case-insensitive; the address is stored as given. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** What a tombstone keeps of an address: a keyed hash, useless without ERASURE_HASH_KEY. */
export const emailHash = (key: string, email: string) => hmacSha256Hex(key, normalizeEmail(email));

export function toSubscriberView(row: SubscriberRow): Subscriber {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    last_name: row.lastName,
    status: row.status,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    unsubscribed_at: row.unsubscribedAt?.toISOString() ?? null,
    version: row.version,
  };
}

/** The ETag of a subscriber: its version, quoted (a strong validator: equal versions are equal bytes). */
export const etagOf = (s: Pick<Subscriber, "version">) => `"${s.version}"`;

export const operationErrorMessages: Record<OperationErrorCode, string> = {
  already_exists: "A subscriber with this email already exists.",
  invalid_data: "The database refused this write's data; it was kept as a dead letter for an operator.",
  precondition_failed: "The subscriber's version no longer matched If-Match when the change was applied.",
  not_found: "The subscriber did not exist when the change was applied.",
  invalid_transition: "The subscriber's status when the change was applied does not allow this status change.",
  expired: "No outcome was recorded within the retry budget and the queue's retention: nothing was stored. Send the request again.",
};

export function toOperationView(row: OperationRow): Operation {
  const code = OPERATION_ERROR_CODES.find((c) => c === row.errorCode);
  return {
    id: row.id,
    kind: OPERATION_KINDS.find((k) => k === row.kind) ?? "subscriber.create",
    status: row.status,
    subscriber_id: row.subscriberId,
    subscriber_version: row.version,
    error: row.status === "failed" && code ? { code, message: operationErrorMessages[code] } : null,
    completed_at: row.completedAt.toISOString(),
  };
}

export const cacheKeys = {
  byId: (id: string) => `sub:v1:id:${id.toLowerCase()}`,
  /** A hash of the address, so no cache key (listed in dashboards, logs of the store) holds an email. */
  byEmail: async (email: string) => `sub:v2:email:${await sha256Hex(normalizeEmail(email))}`,
  /** A pending operation accepted before ids were signed (read, never written: src/subscribers/service.ts). */
  operation: (id: string) => `op:v1:${id}`,
  /**
   * One list page in the Cache API (never KV): the database snapshot it was read under and the SHA-256
   * of its normalised query (src/subscribers/list.ts).
   */
  list: (generation: string, queryHash: string) => `subs:v1:list:${generation}:${queryHash}`,
  /** An Idempotency-Key record from before keys were ids (read, never written: src/subscribers/idempotency.ts). */
  idempotency: (keyId: string, keyHash: string) => `idem:v1:${keyId}:${keyHash}`,
};

export const TTL = {
  /** How long the Cache API keeps a list page: its key names its snapshot, so this only bounds space. */
  list: 60,
  /**
   * In isolate memory (src/cache/read-through.ts), which no other invocation can clear: the bound on how
   * long an isolate may serve a subscriber's state after a change (docs/api.md "Cache bounds").
   */
  subscriberHot: 5,
  /** A cache fill whose read took longer than this is dropped: it may predate a change the settle pass already wrote. */
  fillWithinMs: 1_000,
  /** A stale copy (keys, subscribers) answers when Postgres has not within this: a hung database is an outage too. */
  staleWaitMs: 1_000,
};

/**
 * How subscribers are cached. Reads fill on a miss; the consumer writes a key only where it finds a
 * fresh copy older than Postgres (src/subscribers/settle-rule.ts), so freshness (SUBSCRIBER_CACHE_SECONDS)
 * bounds a lost settle; the copy is kept SUBSCRIBER_STALE_SECONDS longer and answers only while
 * Postgres cannot (docs/operations.md "Retries, outages and dead letters"). An absence is never
 * stored: a cached "not found" would hide a create until it expired, and replacing it would cost the
 * consumer a read per create; an absent lookup asks Postgres instead.
 */
export function subscriberCaching(config: Config) {
  const { subscriberFresh, subscriberStale } = config.edgeCopies;
  return {
    read: {
      hitSeconds: subscriberFresh,
      staleSeconds: subscriberStale,
      missingSeconds: 0,
      hotSeconds: TTL.subscriberHot,
      fillWithinMs: TTL.fillWithinMs,
      serveStaleOn: isDatabaseDown,
      staleWaitMs: TTL.staleWaitMs,
    },
    entry: (view: Subscriber) => cached(view, subscriberFresh),
    storeSeconds: subscriberFresh + subscriberStale,
  };
}
