import { z } from "zod";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";
import type { OperationRow } from "../db/repositories/operations.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";

export { SUBSCRIBER_STATUSES };
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);

/** What a client may send: unknown fields are rejected, the email is trimmed and checked. */
export const SubscriberInput = z.strictObject({
  email: z.string().trim().max(254, "must be at most 254 characters").pipe(z.email("must be a valid email address")),
  name: text(255),
  last_name: text(255),
  status: z.enum(SUBSCRIBER_STATUSES).default("unconfirmed"),
});
export type SubscriberInput = z.infer<typeof SubscriberInput>;

/** Uniqueness is case-insensitive; the address is stored as given. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export interface SubscriberView {
  id: string;
  email: string;
  name: string;
  last_name: string;
  status: SubscriberStatus;
  created_at: string;
  updated_at: string;
}

export function toSubscriberView(row: SubscriberRow): SubscriberView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    last_name: row.lastName,
    status: row.status,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export interface OperationView {
  id: string;
  kind: "subscriber.create";
  status: "pending" | "succeeded" | "failed";
  /** For a failure "already exists", the id of the subscriber that already has the email. */
  subscriber_id: string;
  error: { code: "already_exists"; message: string } | null;
  completed_at: string | null;
}

export function toOperationView(row: OperationRow): OperationView {
  return {
    id: row.id,
    kind: "subscriber.create",
    status: row.status,
    subscriber_id: row.subscriberId,
    error: row.errorCode === "already_exists" ? { code: "already_exists", message: "A subscriber with this email already exists." } : null,
    completed_at: row.completedAt.toISOString(),
  };
}

export const cacheKeys = {
  byId: (id: string) => `sub:v1:id:${id}`,
  byEmail: (email: string) => `sub:v1:email:${normalizeEmail(email)}`,
  operation: (id: string) => `op:v1:${id}`,
  listVersion: "subs:v1:listver",
  list: (version: string, status: string, limit: number, cursor: string) => `subs:v1:list:${version}:${status}:${limit}:${cursor}`,
  /** Subscriber and plan counts; dropped by the consumer and by a plan sync that changed anything. */
  stats: "stats:v2",
  idempotency: (keyId: string, keyHash: string) => `idem:v1:${keyId}:${keyHash}`,
};

export const TTL = {
  subscriber: 86_400,
  /** Absent subscribers: short, and never used to reject a create. */
  missing: 60,
  operation: 86_400,
  list: 60,
  stats: 300,
  idempotency: 86_400,
  /** In isolate memory (src/cache/hot.ts): subscribers are never updated in place, so a minute is safe. */
  subscriberHot: 60,
};
