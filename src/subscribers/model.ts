import type { OperationRow } from "../db/repositories/operations.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";
import type { Operation, OperationErrorCode, Subscriber } from "./schema.ts";
import { OPERATION_ERROR_CODES } from "./schema.ts";

/** Uniqueness is case-insensitive; the address is stored as given. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export function toSubscriberView(row: SubscriberRow): Subscriber {
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

const operationErrorMessages: Record<OperationErrorCode, string> = {
  already_exists: "A subscriber with this email already exists.",
  invalid_data: "The database refused this write's data; it was kept as a dead letter for an operator.",
};

export function toOperationView(row: OperationRow): Operation {
  const code = OPERATION_ERROR_CODES.find((c) => c === row.errorCode);
  return {
    id: row.id,
    kind: "subscriber.create",
    status: row.status,
    subscriber_id: row.subscriberId,
    error: row.status === "failed" && code ? { code, message: operationErrorMessages[code] } : null,
    completed_at: row.completedAt.toISOString(),
  };
}

export const cacheKeys = {
  byId: (id: string) => `sub:v1:id:${id}`,
  byEmail: (email: string) => `sub:v1:email:${normalizeEmail(email)}`,
  operation: (id: string) => `op:v1:${id}`,
  listVersion: "subs:v1:listver",
  /** One list page: the SHA-256 of its normalised query (src/subscribers/list.ts) under the list version's prefix. */
  list: (version: string, queryHash: string) => `subs:v1:list:${version}:${queryHash}`,
  idempotency: (keyId: string, keyHash: string) => `idem:v1:${keyId}:${keyHash}`,
};

export const TTL = {
  subscriber: 86_400,
  /** Absent subscribers: short, and never used to reject a create. */
  missing: 60,
  /** Pending operations live only here until their outcome is in Postgres: as long as a queue keeps a message (14 days). */
  operation: 14 * 86_400,
  list: 60,
  idempotency: 86_400,
  /** In isolate memory (src/isolate-memory.ts): subscribers are never updated in place, so a minute is safe. */
  subscriberHot: 60,
};
