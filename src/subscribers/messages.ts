import { z } from "zod";
import { EmailAddress } from "./email.ts";
import { SubscriberStatus } from "./schema.ts";

/**
 * The subscriber-writes queue's messages, shared by the producers (the write routes) and the
 * consumer; versioned for rolling deploys. Every change carries the operation id the edge gave it
 * (src/subscribers/operation-id.ts) and its place in the order of acceptance: `order_id`, a UUIDv7
 * minted at acceptance, or else the operation id itself (a signed id, or one from before keyed ids).
 * `request_mac` is the HMAC of the request under ERASURE_HASH_KEY: the consumer compares it with the
 * operation's, so a different request under one Idempotency-Key is never applied.
 * `idempotency_key` is the cache key of an older Idempotency-Key record in KV (a hash), kept with the
 * operation so an erasure can find it.
 */
const change = {
  v: z.literal(1),
  operation_id: z.uuid(),
  order_id: z.uuid().optional(),
  requested_at: z.iso.datetime(),
  request_mac: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  idempotency_key: z.string().max(200).optional(),
};

/** The subscriber a write is about, when it names one. */
export const subjectOf = (m: SubscriberWriteMessage): string | null =>
  m.type === "subscriber.create" ? m.subscriber.id : (m.subscriber_id ?? null);

/** Where a change stands in the order of acceptance (docs/write-rules.md "Order"). */
export const orderOf = (m: { operation_id: string; order_id?: string | undefined }) => m.order_id ?? m.operation_id;

/**
 * What an If-Match asked for (src/subscribers/preconditions.ts): `if_match`, one version (the only
 * form of older messages), or `if_match_any`, several; the change applies at any listed version.
 */
const ifMatch = {
  if_match: z.number().int().positive().optional(),
  if_match_any: z.array(z.number().int().positive()).min(1).max(50).optional(),
};

/** The edge checks names against the full policy; Postgres enforces the rest, so the consumer is lenient. */
const Name = z.string().min(1).max(255);

export const SubscriberCreateMessage = z.object({
  type: z.literal("subscriber.create"),
  ...change,
  subscriber: z.object({ id: z.uuid(), email: EmailAddress, name: Name, last_name: Name, status: SubscriberStatus }),
});
export type SubscriberCreateMessage = z.infer<typeof SubscriberCreateMessage>;

export const SubscriberUpdateMessage = z.object({
  type: z.literal("subscriber.update"),
  ...change,
  subscriber_id: z.uuid(),
  changes: z
    .object({ name: Name.optional(), last_name: Name.optional(), status: SubscriberStatus.optional() })
    .refine((c) => Object.keys(c).length > 0, "no change"),
  ...ifMatch,
});
export type SubscriberUpdateMessage = z.infer<typeof SubscriberUpdateMessage>;

export const SubscriberDeleteMessage = z.object({
  type: z.literal("subscriber.delete"),
  ...change,
  subscriber_id: z.uuid(),
  ...ifMatch,
});
export type SubscriberDeleteMessage = z.infer<typeof SubscriberDeleteMessage>;

/** By id, by email, or both: an address whose subscriber was already deleted is still erased. */
export const SubscriberForgetMessage = z
  .object({
    type: z.literal("subscriber.forget"),
    ...change,
    subscriber_id: z.uuid().optional(),
    email: EmailAddress.optional(),
  })
  .refine((m) => m.subscriber_id !== undefined || m.email !== undefined, "subscriber_id or email");
export type SubscriberForgetMessage = z.infer<typeof SubscriberForgetMessage>;

/**
 * Sent by the consumer to itself, delayed, after a change commits: re-reads these subscribers from
 * Postgres and rewrites (or removes) their cache entries. `email_key` is the cache key by email, a
 * hash, so the message carries no address.
 */
export const SubscriberSettleMessage = z.object({
  type: z.literal("subscriber.settle"),
  v: z.literal(1),
  subscribers: z.array(z.object({ id: z.uuid(), email_key: z.string().max(200).optional() })).max(500),
});
export type SubscriberSettleMessage = z.infer<typeof SubscriberSettleMessage>;

const SubscriberChangeMessage = z.union([SubscriberUpdateMessage, SubscriberDeleteMessage, SubscriberForgetMessage]);
type SubscriberChangeMessage = z.infer<typeof SubscriberChangeMessage>;

/** Every write the consumer applies in Postgres. */
export type SubscriberWriteMessage = SubscriberCreateMessage | SubscriberChangeMessage;

export type SubscriberQueueMessage = SubscriberWriteMessage | SubscriberSettleMessage;

const BY_TYPE: Record<string, z.ZodType<SubscriberQueueMessage>> = {
  "subscriber.create": SubscriberCreateMessage,
  "subscriber.update": SubscriberUpdateMessage,
  "subscriber.delete": SubscriberDeleteMessage,
  "subscriber.forget": SubscriberForgetMessage,
  "subscriber.settle": SubscriberSettleMessage,
};

/**
 * A message on the subscriber queue, by its `type`. A failure names paths and issue codes only
 * (zod's messages can quote the input, which may be personal data).
 */
export function parseSubscriberQueueMessage(
  body: unknown,
): { ok: true; message: SubscriberQueueMessage } | { ok: false; problems: string } {
  const type = typeof body === "object" && body !== null ? (body as { type?: unknown }).type : undefined;
  const schema = typeof type === "string" && Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type] : undefined;
  if (!schema) return { ok: false, problems: "type unknown" };
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, message: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.code}`).join("; ") };
}

const Replayable = z.union([SubscriberCreateMessage, SubscriberChangeMessage]);

/** A dead letter's body as the write to send again, when it is a subscriber write this version understands. */
export const replayableWrite = (body: unknown): SubscriberWriteMessage | undefined => Replayable.safeParse(body).data;
