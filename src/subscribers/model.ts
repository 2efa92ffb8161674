import { z } from "zod";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";
import type { OperationRow } from "../db/repositories/operations.ts";
import type { SubscriberRow } from "../db/repositories/subscribers.ts";

export { SUBSCRIBER_STATUSES };
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

/**
 * What a name may contain (README "Name policy"). Checked after NFC normalisation and trimming:
 * - well-formed Unicode (no lone surrogates);
 * - no control characters: C0 (U+0000–U+001F, so no NUL, tab, CR or LF), DEL, C1 (U+0080–U+009F),
 *   and no line or paragraph separators (U+2028, U+2029);
 * - no bidirectional embeddings, overrides or isolates (U+202A–U+202E, U+2066–U+2069), which can make
 *   text display in an order other than the one stored; the marks LRM, RLM and ALM are allowed;
 * - at least one visible character: a letter, number, punctuation or symbol that is not default-
 *   ignorable, so names made only of spaces, zero-width characters or fillers (U+3164) are refused.
 * Postgres enforces the control and bidi rules too (migration 0003), so a message that bypassed the
 * edge is rejected there and isolated by the consumer.
 */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
const VISIBLE = /(?![\p{Default_Ignorable_Code_Point}])[\p{L}\p{N}\p{P}\p{S}]/u;

export function namePolicyViolation(name: string): string | undefined {
  if (!name.isWellFormed()) return "must be well-formed Unicode (no lone surrogates)";
  if (CONTROL.test(name)) return "must not contain control characters (U+0000–U+001F, U+007F–U+009F, U+2028, U+2029)";
  if (BIDI_CONTROL.test(name)) return "must not contain bidirectional overrides, embeddings or isolates (U+202A–U+202E, U+2066–U+2069)";
  if (!VISIBLE.test(name)) return "must contain at least one visible character";
  return undefined;
}

const personName = (max: number) =>
  z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .min(1, "must not be empty")
        .max(max, `must be at most ${max} characters`)
        .check((ctx) => {
          // An empty name has its own message (min above); one problem per field.
          const problem = ctx.value.length > 0 ? namePolicyViolation(ctx.value) : undefined;
          if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
        }),
    );

/** Emails are ASCII in this API (zod's email format), so they cannot carry controls or NUL. */
const EmailAddress = z.string().trim().max(254, "must be at most 254 characters").pipe(z.email("must be a valid email address"));

/** What a client may send: unknown fields are rejected, the email is trimmed and checked. */
export const SubscriberInput = z.strictObject({
  email: EmailAddress,
  name: personName(255),
  last_name: personName(255),
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

export const OPERATION_ERROR_CODES = ["already_exists", "invalid_data"] as const;
export type OperationErrorCode = (typeof OPERATION_ERROR_CODES)[number];

const operationErrorMessages: Record<OperationErrorCode, string> = {
  already_exists: "A subscriber with this email already exists.",
  invalid_data: "The database refused this write's data; it was kept as a dead letter for an operator.",
};

export interface OperationView {
  id: string;
  kind: "subscriber.create";
  status: "pending" | "succeeded" | "failed";
  /** For a failure "already exists", the id of the subscriber that already has the email. */
  subscriber_id: string | null;
  error: { code: OperationErrorCode; message: string } | null;
  completed_at: string | null;
}

export function toOperationView(row: OperationRow): OperationView {
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
  list: (version: string, status: string, limit: number, cursor: string) => `subs:v1:list:${version}:${status}:${limit}:${cursor}`,
  /** Subscriber and plan counts; dropped by the consumer and by a plan sync that changed anything. */
  stats: "stats:v2",
  idempotency: (keyId: string, keyHash: string) => `idem:v1:${keyId}:${keyHash}`,
};

export const TTL = {
  subscriber: 86_400,
  /** Absent subscribers: short, and never used to reject a create. */
  missing: 60,
  /** Pending operations live only here until their outcome is in Postgres: as long as a queue keeps a message (14 days). */
  operation: 14 * 86_400,
  list: 60,
  stats: 300,
  idempotency: 86_400,
  /** In isolate memory (src/cache/hot.ts): subscribers are never updated in place, so a minute is safe. */
  subscriberHot: 60,
};
