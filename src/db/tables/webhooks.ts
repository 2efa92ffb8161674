import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./columns.ts";
import { subscriberEvents } from "./subscribers.ts";

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
