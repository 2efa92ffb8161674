import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    /** First characters of the key, safe to display ("sk_live_AbC1…"). */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the full key, hex. The key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    scopes: text("scopes").array().notNull(),
    rateLimit: integer("rate_limit"),
    ratePeriodSeconds: integer("rate_period_seconds"),
    ...timestamps,
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [uniqueIndex("api_keys_key_hash_uq").on(t.keyHash)],
);

export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    /**
     * The message body exactly as it arrived, as text: JSON for JSON bodies (JSON.stringify escapes
     * NUL and lone surrogates, which jsonb and text would refuse raw), base64 for bytes. Never jsonb,
     * so no body can make its own dead letter unstorable.
     */
    body: text("body").notNull(),
    bodyFormat: text("body_format", { enum: ["json", "base64", "text"] })
      .notNull()
      .default("json"),
    reason: text("reason").notNull(),
    attempts: integer("attempts").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    replayedAt: timestamp("replayed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("dead_letters_message_id_uq").on(t.messageId),
    index("dead_letters_pending_idx").on(t.receivedAt).where(sql`${t.replayedAt} is null`),
  ],
);

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
    // The name policy's control and bidi rules (src/subscribers/model.ts), enforced where the data
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
    /** The delete or forget that made it: only changes the edge accepted before it are refused. */
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

export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: uuid("id").primaryKey(),
  url: text("url").notNull(),
  description: text("description"),
  /** Event types it receives (subscriber.created, …). */
  events: text("events").array().notNull(),
  enabled: boolean("enabled").notNull().default(true),
  /** Why it was disabled: by an operator, a 410 from the receiver, or days of failures. */
  disabledReason: text("disabled_reason"),
  disabledAt: timestamp("disabled_at", { withTimezone: true, mode: "date" }),
  /** The signing secret (whsec_…). Needed to sign, so kept; shown once, never logged. */
  secret: text("secret").notNull(),
  /** After a rotation, the previous secret also signs until it expires (both signatures are sent). */
  previousSecret: text("previous_secret"),
  previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true, mode: "date" }),
  /** Set by the first failed attempt after a success; an endpoint failing for days is disabled. */
  failingSince: timestamp("failing_since", { withTimezone: true, mode: "date" }),
  ...timestamps,
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivering", "succeeded", "failed"] as const;

/** One event for one endpoint, delivered at least once; its attempts are in webhook_attempts. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** UUIDv7: keyset order of the delivery log. */
    id: uuid("id").primaryKey(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    /** The `webhook-id` header: the same for every attempt and redelivery of one event. */
    messageId: text("message_id").notNull(),
    type: text("type").notNull(),
    /** The subscriber event it carries (its data is read at send time, so an erasure reaches it); null for webhook.test. */
    eventId: bigint("event_id", { mode: "number" }).references(() => subscriberEvents.id),
    /** The body of an event that is not a subscriber event (webhook.test). */
    payload: jsonb("payload"),
    subscriberId: uuid("subscriber_id"),
    subscriberVersion: integer("subscriber_version"),
    status: text("status", { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** `attempts` when the current retry schedule began: 0, or where a manual redelivery restarted it. */
    scheduleFrom: integer("schedule_from").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** While `delivering`: until when this claim holds (a consumer that died lets it go). */
    leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    ...timestamps,
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id),
    // The order check: earlier versions of one subscriber still on their way to one endpoint.
    index("webhook_deliveries_order_idx")
      .on(t.endpointId, t.subscriberId, t.subscriberVersion)
      .where(sql`${t.status} in ('pending', 'delivering')`),
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index("webhook_deliveries_subscriber_idx").on(t.subscriberId),
  ],
);

export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attemptedAt: timestamp("attempted_at", { withTimezone: true, mode: "date" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    statusCode: integer("status_code"),
    /** Log-safe: timeout, connection refused, redirect not followed… never the payload. */
    error: text("error"),
    /** The first 1 KB of the receiver's answer, as text. */
    responseBody: text("response_body"),
  },
  (t) => [
    index("webhook_attempts_delivery_idx").on(t.deliveryId),
    // Attempts per minute on the status page and the metrics endpoint.
    index("webhook_attempts_attempted_idx").on(t.attemptedAt),
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
    /** The edge cache key of the request's Idempotency-Key record (a hash), so an erasure can delete it. */
    idempotencyKey: text("idempotency_key"),
    ...timestamps,
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("operations_completed_at_idx").on(t.completedAt), index("operations_subscriber_idx").on(t.subscriberId)],
);

/** Provider times carry no zone; stored as timestamp without time zone and compared as UTC. */
const providerTime = (name: string) => timestamp(name, { mode: "string", withTimezone: false });
const seen = {
  firstSeenAt: timestamp("first_seen_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

export const basePlans = pgTable("base_plans", {
  basePlanId: text("base_plan_id").primaryKey(),
  title: text("title").notNull(),
  sellMode: text("sell_mode").notNull(),
  organizerCompanyId: text("organizer_company_id"),
  /** Once online, always returned by /search, even if the provider later says offline. */
  everOnline: boolean("ever_online").notNull(),
  ...seen,
});

export const plans = pgTable(
  "plans",
  {
    /** UUIDv5 of "base_plan_id:plan_id": stable across syncs, re-ingests and environments. */
    id: uuid("id").primaryKey(),
    basePlanId: text("base_plan_id")
      .notNull()
      .references(() => basePlans.basePlanId),
    planId: text("plan_id").notNull(),
    startsAt: providerTime("starts_at").notNull(),
    endsAt: providerTime("ends_at").notNull(),
    sellFrom: providerTime("sell_from"),
    sellTo: providerTime("sell_to"),
    soldOut: boolean("sold_out").notNull(),
    /** Seen at least once while its base plan sold online: only these are ever searchable. */
    everOnline: boolean("ever_online").notNull(),
    minPrice: numeric("min_price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    maxPrice: numeric("max_price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    zoneCount: integer("zone_count").notNull(),
    /** Hash of everything the provider said about this plan: unchanged plans are not rewritten. */
    contentHash: text("content_hash").notNull(),
    ...seen,
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("plans_base_plan_plan_uq").on(t.basePlanId, t.planId),
    // Containment search (starts_at >= $from and ends_at <= $to) and keyset pages ordered by
    // (starts_at, id); only ever-online plans are ever asked for.
    index("plans_search_idx").on(t.startsAt, t.id).where(sql`${t.everOnline}`),
  ],
);

export const zones = pgTable(
  "zones",
  {
    planId: uuid("plan_id")
      .notNull()
      .references(() => plans.id, { onDelete: "cascade" }),
    /** Order in the provider's document; zone_id alone can repeat inside one plan. */
    position: integer("position").notNull(),
    zoneId: text("zone_id").notNull(),
    name: text("name").notNull(),
    capacity: integer("capacity").notNull(),
    price: numeric("price", { precision: 12, scale: 2, mode: "number" }).notNull(),
    numbered: boolean("numbered").notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.position] })],
);

export const planSyncRuns = pgTable(
  "plan_sync_runs",
  {
    id: uuid("id").primaryKey(),
    trigger: text("trigger").notNull(),
    outcome: text("outcome").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull(),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }).notNull(),
    documentHash: text("document_hash"),
    etag: text("etag"),
    lastModified: text("last_modified"),
    report: jsonb("report").notNull(),
  },
  (t) => [index("plan_sync_runs_finished_idx").on(t.finishedAt.desc())],
);

/**
 * Request metrics per isolate, per minute, per route group (src/status/rollup.ts): written once per
 * completed minute by the isolate that served the requests, never per request. Purged after 8 days.
 * `buckets` holds the latency histogram's per-bucket counts (not cumulative), bounds in
 * LATENCY_BOUNDS_MS plus a last +Inf bucket.
 */
export const requestRollups = pgTable(
  "request_rollups",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    isolateId: text("isolate_id").notNull(),
    minute: timestamp("minute", { withTimezone: true, mode: "date" }).notNull(),
    routeGroup: text("route_group").notNull(),
    count: integer("count").notNull(),
    errors: integer("errors").notNull(),
    cacheLookups: integer("cache_lookups").notNull(),
    cacheHits: integer("cache_hits").notNull(),
    buckets: integer("buckets").array().notNull(),
    sumMs: numeric("sum_ms", { mode: "number" }).notNull(),
  },
  (t) => [
    uniqueIndex("request_rollups_isolate_minute_group_uq").on(t.isolateId, t.minute, t.routeGroup),
    index("request_rollups_minute_idx").on(t.minute),
  ],
);

/**
 * Subscriber counts by status, kept exact by statement-level triggers on subscribers (migration
 * 0008), in the same transaction as every insert, update, delete and truncate, whoever runs them.
 * Split over SUBSCRIBER_COUNT_SHARDS rows, one chosen per transaction (its txid): concurrent
 * consumer batches then update different rows instead of queueing on one, and a transaction only
 * ever locks one row here, so this table can never deadlock with itself. Read as the sum over the
 * rows: O(shards), whatever the number of subscribers. One column per status (not a row per
 * status) for that single-row lock; a new status needs a migration of the enum anyway.
 */
export const subscriberCounts = pgTable(
  "subscriber_counts",
  {
    shard: smallint("shard").primaryKey(),
    active: bigint("active", { mode: "number" }).notNull().default(0),
    unsubscribed: bigint("unsubscribed", { mode: "number" }).notNull().default(0),
    unconfirmed: bigint("unconfirmed", { mode: "number" }).notNull().default(0),
    bounced: bigint("bounced", { mode: "number" }).notNull().default(0),
    junk: bigint("junk", { mode: "number" }).notNull().default(0),
  },
  (t) => [check("subscriber_counts_shard", sql`${t.shard} between 0 and 31`)],
);

/**
 * Plan counts, kept exact by triggers on plans (migration 0008). One row: every plan sync already
 * holds an advisory lock for its whole transaction, so there is no concurrency to spread.
 */
export const planCounts = pgTable(
  "plan_counts",
  {
    id: smallint("id").primaryKey(),
    total: bigint("total", { mode: "number" }).notNull().default(0),
    /** Ever sold online, so returned by /search. */
    searchable: bigint("searchable", { mode: "number" }).notNull().default(0),
  },
  (t) => [check("plan_counts_one_row", sql`${t.id} = 1`)],
);
