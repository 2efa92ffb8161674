import { z } from "zod";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";
import { EmailAddress } from "./email.ts";

/**
 * The subscriber resource's shapes, the single source of its types (z.infer), of the routes'
 * validation and of the OpenAPI document (`meta.id` names the component).
 */
export { SUBSCRIBER_STATUSES };
export const SubscriberStatus = z.enum(SUBSCRIBER_STATUSES);
export type SubscriberStatus = z.infer<typeof SubscriberStatus>;

/**
 * What a name may contain (docs/api.md, "Name policy" under "API (subscribers)"). Checked after NFC normalisation and trimming:
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

function namePolicyViolation(name: string): string | undefined {
  if (!name.isWellFormed()) return "must be well-formed Unicode (no lone surrogates)";
  if (CONTROL.test(name)) return "must not contain control characters (U+0000–U+001F, U+007F–U+009F, U+2028, U+2029)";
  if (BIDI_CONTROL.test(name)) return "must not contain bidirectional overrides, embeddings or isolates (U+202A–U+202E, U+2066–U+2069)";
  if (!VISIBLE.test(name)) return "must contain at least one visible character";
  return undefined;
}

const personName = (max: number) =>
  z
    .string()
    // The document describes what is accepted after normalisation; the pipe below enforces it.
    .meta({ minLength: 1, maxLength: max, description: "Normalised to NFC and trimmed; see the name policy in docs/api.md." })
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

/** What a client may send: unknown fields are rejected, the email is trimmed and checked. */
export const SubscriberInput = z
  .strictObject({
    email: EmailAddress,
    name: personName(255),
    last_name: personName(255),
    status: SubscriberStatus.default("unconfirmed"),
  })
  .meta({ id: "SubscriberInput" });
export type SubscriberInput = z.infer<typeof SubscriberInput>;

/**
 * Status changes a client may ask for (docs/api.md "Status transitions"). `unconfirmed` is only ever a
 * starting status; `bounced` and `junk` say the address itself is bad, so only an unsubscribe leads
 * away from them (the email is immutable: a new address is a new subscriber). Setting the current
 * status again is always allowed and changes nothing.
 */
const STATUS_TRANSITIONS: Record<SubscriberStatus, readonly SubscriberStatus[]> = {
  unconfirmed: ["active", "unsubscribed", "bounced", "junk"],
  active: ["unsubscribed", "bounced", "junk"],
  unsubscribed: ["active"],
  bounced: ["unsubscribed"],
  junk: ["unsubscribed"],
};
export const mayMoveTo = (from: SubscriberStatus, to: SubscriberStatus) => from === to || STATUS_TRANSITIONS[from].includes(to);

/** A status no transition leads to; the edge refuses it at once. */
const SettableStatus = SubscriberStatus.exclude(["unconfirmed"]);

/** PATCH: any of the three, at least one. The email is immutable. */
export const SubscriberPatch = z
  .strictObject({
    name: personName(255).optional(),
    last_name: personName(255).optional(),
    status: SettableStatus.optional(),
  })
  .refine((p) => p.name !== undefined || p.last_name !== undefined || p.status !== undefined, {
    message: "give at least one of name, last_name, status",
  })
  .meta({ id: "SubscriberPatch", minProperties: 1 });
export type SubscriberPatch = z.infer<typeof SubscriberPatch>;

export const Subscriber = z
  .object({
    id: z.uuid(),
    email: z.email(),
    name: z.string(),
    last_name: z.string(),
    status: SubscriberStatus,
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    unsubscribed_at: z.iso.datetime().nullable(),
    version: z.number().int().positive().meta({ description: "1 when created, +1 per applied change; the ETag is its quoted form" }),
  })
  .meta({ id: "Subscriber" });
export type Subscriber = z.infer<typeof Subscriber>;

/** `expired`: no outcome within the retry budget and the queue's retention; nothing was stored (src/subscribers/expiry.ts). */
export const OPERATION_ERROR_CODES = [
  "already_exists",
  "invalid_data",
  "precondition_failed",
  "not_found",
  "invalid_transition",
  "expired",
] as const;
export type OperationErrorCode = (typeof OPERATION_ERROR_CODES)[number];

export const OPERATION_KINDS = ["subscriber.create", "subscriber.update", "subscriber.delete", "subscriber.forget"] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export const Operation = z
  .object({
    id: z.uuid(),
    kind: z.enum(OPERATION_KINDS),
    status: z.enum(["pending", "succeeded", "failed", "superseded"]).meta({
      description: "superseded: a newer change to the same subscriber was applied first, so this older one was not",
    }),
    subscriber_id: z.uuid().nullable().meta({
      description:
        "For already_exists, the subscriber that has the email. Null for a malformed message, and for a key without subscribers:read except on its own create (the id minted for it)",
    }),
    subscriber_version: z.number().int().nullable().meta({ description: "The subscriber's version once this change applied" }),
    error: z.object({ code: z.enum(OPERATION_ERROR_CODES), message: z.string() }).nullable(),
    completed_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "Operation" });
export type Operation = z.infer<typeof Operation>;
