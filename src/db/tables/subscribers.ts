import { sql } from "drizzle-orm";
import { bigserial, check, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./columns.ts";

/** A Postgres regular expression (ARE escapes) for the characters no name may hold. NUL cannot be in text at all. */
const NAME_FORBIDDEN = "[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]";

export const SUBSCRIBER_STATUSES = ["active", "unsubscribed", "unconfirmed", "bounced", "junk"] as const;
export const subscriberStatus = pgEnum("subscriber_status", SUBSCRIBER_STATUSES);

export const subscribers = pgTable(
  "subscribers",
  {
    /** UUIDv7 generated at the edge when the write is accepted. */
    id: uuid("id").primaryKey(),
    /** As given by the client; uniqueness is case-insensitive (see the lower(email) index). */
    email: text("email").notNull(),
    name: text("name").notNull(),
    lastName: text("last_name").notNull(),
    status: subscriberStatus("status").notNull(),
    // Millisecond precision, like a JS Date, so the keyset cursor round-trips exactly.
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date", precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date", precision: 3 }).notNull().defaultNow(),
    /** Set when the status moves to unsubscribed; cleared when it moves away again. */
    unsubscribedAt: timestamp("unsubscribed_at", { withTimezone: true, mode: "date", precision: 3 }),
    /** 1 when created, +1 per applied change: the ETag, and the order of the subscriber's events. */
    version: integer("version").notNull().default(1),
    /**
     * Per field, the operation (UUIDv7, the edge's order) that last wrote it. A change writes only the
     * fields whose last writer is older than itself, so redelivered or reordered changes converge on
     * the order the edge accepted them in (docs/api.md "Order").
     */
    fieldOps: jsonb("field_ops").$type<FieldOps>().notNull().default({}),
  },
  (t) => [
    uniqueIndex("subscribers_email_lower_uq").on(sql`lower(${t.email})`),
    // Keyset pages newest first by (created_at, id) or (updated_at, id), with and without a status
    // filter (src/db/repositories/subscriber-list.ts). NULLS FIRST is what a plain DESC means: the
    // ORDER BY must match the declaration exactly, or Postgres sorts instead of reading the index.
    index("subscribers_created_id_idx").on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("subscribers_status_created_id_idx").on(t.status, t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("subscribers_updated_id_idx").on(t.updatedAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("subscribers_status_updated_id_idx").on(t.status, t.updatedAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    // The name policy's control and bidi rules (src/subscribers/schema.ts), enforced where the data
    // lands too: a write that bypassed the edge fails here and the consumer isolates it.
    check("subscribers_name_chars", sql`${t.name} !~ ${sql.raw(`'${NAME_FORBIDDEN}'`)}`),
    check("subscribers_last_name_chars", sql`${t.lastName} !~ ${sql.raw(`'${NAME_FORBIDDEN}'`)}`),
  ],
);

/** The changeable fields of a subscriber, each with the id of the operation that last wrote it. */
export type FieldOps = Partial<Record<"name" | "last_name" | "status", string>>;

/**
 * What is kept of a deleted or erased subscriber: its id and a keyed hash of its email (never the
 * email), so a late create or change for it is recognised and not applied. Purged after 30 days.
 */
export const subscriberTombstones = pgTable(
  "subscriber_tombstones",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Null for an erasure by email of an address no subscriber had (yet): its hash still refuses late creates. */
    subscriberId: uuid("subscriber_id"),
    /** HMAC-SHA256 of the lower-cased email under ERASURE_HASH_KEY; null when the email was never known. */
    emailHash: text("email_hash"),
    kind: text("kind", { enum: ["deleted", "forgotten"] }).notNull(),
    /** The order of the delete or forget that made it (orderOf): only changes the edge accepted before it are refused. */
    operationId: uuid("operation_id").notNull(),
    version: integer("version").notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("subscriber_tombstones_subscriber_uq").on(t.subscriberId),
    index("subscriber_tombstones_email_hash_idx").on(t.emailHash),
    index("subscriber_tombstones_created_idx").on(t.createdAt),
  ],
);

export const SUBSCRIBER_EVENT_TYPES = [
  "subscriber.created",
  "subscriber.updated",
  "subscriber.unsubscribed",
  "subscriber.deleted",
  "subscriber.forgotten",
] as const;

/**
 * One row per applied change, written in the change's transaction: the outbox webhooks deliver from.
 * `data` is the subscriber's view after the change; an erasure reduces every earlier row's data to
 * its id and version.
 */
export const subscriberEvents = pgTable(
  "subscriber_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    subscriberId: uuid("subscriber_id").notNull(),
    type: text("type", { enum: SUBSCRIBER_EVENT_TYPES }).notNull(),
    version: integer("version").notNull(),
    operationId: uuid("operation_id").notNull(),
    data: jsonb("data").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** When the webhook relay turned this event into deliveries (src/webhooks/relay.ts); null until then. */
    relayedAt: timestamp("relayed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("subscriber_events_subscriber_version_uq").on(t.subscriberId, t.version),
    index("subscriber_events_unrelayed_idx").on(t.id).where(sql`${t.relayedAt} is null`),
  ],
);

export const OPERATION_OUTCOMES = ["succeeded", "failed", "superseded"] as const;
export const operationStatus = pgEnum("operation_status", OPERATION_OUTCOMES);

/** Outcome of an accepted asynchronous write; "pending" lives only in the edge cache. */
export const operations = pgTable(
  "operations",
  {
    id: uuid("id").primaryKey(),
    kind: text("kind").notNull(),
    status: operationStatus("status").notNull(),
    /** Null only for a message too malformed to name its subscriber. */
    subscriberId: uuid("subscriber_id"),
    errorCode: text("error_code"),
    /** The subscriber's version after this change, when it applied one. */
    version: integer("version"),
    /** The edge cache key of an older Idempotency-Key record in KV (a hash), so an erasure can delete it. */
    idempotencyKey: text("idempotency_key"),
    /**
     * HMAC-SHA256 of the request under ERASURE_HASH_KEY (never the request): a replay of the
     * operation's Idempotency-Key with another request is told apart by it, and it outlives an erasure.
     */
    requestMac: text("request_mac"),
    ...timestamps,
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("operations_completed_at_idx").on(t.completedAt), index("operations_subscriber_idx").on(t.subscriberId)],
);
