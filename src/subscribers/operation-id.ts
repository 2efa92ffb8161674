import { v7 as uuidv7 } from "uuid";
import { hmacSha256Hex } from "../lib/crypto.ts";
import type { OperationKind } from "./schema.ts";
import { OPERATION_KINDS } from "./schema.ts";

/**
 * Operation ids the edge can check without storage. Both forms are RFC 9562 UUIDs whose last 24
 * bits are a tag, the truncated HMAC (under ERASURE_HASH_KEY, with its own label) of everything
 * before them, and whose two bits after the variant name the operation's kind:
 * - signed (version 7), for a write without Idempotency-Key: 48 bits of acceptance time in ms, then
 *   48 random bits. Its order is the order of acceptance, as before;
 * - keyed (version 8), for a write with an Idempotency-Key: 96 bits of an HMAC of the API key's id
 *   and the Idempotency-Key, so every location that accepts the same key gives the same id. It holds
 *   no time: its message carries an `order_id` (a UUIDv7 minted at acceptance) for the consumer's order.
 * An id whose tag does not hold was not minted here: a version 7 one may be from before the tag
 * (looked up as then); any other is unknown without asking storage.
 */

const TAG_HEX = 6;
const BODY_HEX = 32 - TAG_HEX;
/** Hex digit 16 holds the variant (binary 10) and the kind's two bits. */
const KIND_AT = 16;

const plain = (id: string) => id.replaceAll("-", "").toLowerCase();
const dashed = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const tagOf = async (key: string, body: string) => (await hmacSha256Hex(key, `operation-id:v1:${body}`)).slice(0, TAG_HEX);
const kindDigit = (kind: OperationKind) => (8 + OPERATION_KINDS.indexOf(kind)).toString(16);
const withKind = (h: string, kind: OperationKind) => h.slice(0, KIND_AT) + kindDigit(kind) + h.slice(KIND_AT + 1);

async function sealed(key: string, h: string, kind: OperationKind): Promise<string> {
  const body = withKind(h, kind).slice(0, BODY_HEX);
  return dashed(body + (await tagOf(key, body)));
}

/** A fresh signed id (version 7) for a write of this kind. */
export const signedOperationId = (key: string, kind: OperationKind, now = Date.now()) => sealed(key, plain(uuidv7({ msecs: now })), kind);

/** The keyed id (version 8) of this API key's Idempotency-Key for a write of this kind: the same wherever it is computed. */
export async function keyedOperationId(key: string, kind: OperationKind, apiKeyId: string, idempotencyKey: string): Promise<string> {
  const d = await hmacSha256Hex(key, `operation-key:v1:${apiKeyId.length}:${apiKeyId}:${idempotencyKey}`);
  return sealed(key, `${d.slice(0, 12)}8${d.slice(12, 15)}0${d.slice(15, 30)}`, kind);
}

/**
 * The ids one Idempotency-Key maps to, one per kind: a key reused for another kind of write is the
 * same key with a different request, found under any of them.
 */
export const keyedVariants = (key: string, id: string) => Promise.all(OPERATION_KINDS.map((k) => sealed(key, plain(id), k)));

/** What a keyed id's variants share: its Idempotency-Key, whatever the kind (the consumer locks on it). */
export const keyedRoot = (id: string) => withKind(plain(id), "subscriber.create").slice(0, BODY_HEX);

function kindOf(h: string): OperationKind {
  return OPERATION_KINDS[Number.parseInt(h[KIND_AT]!, 16) - 8] ?? "subscriber.create";
}

export type VerifiedId =
  | { form: "signed"; kind: OperationKind; acceptedAt: number }
  | { form: "keyed"; kind: OperationKind }
  /** A version 7 id without the tag: minted before ids were signed, or not by us. */
  | { form: "unsigned" }
  | { form: "unknown" };

/** What the id says about itself, checked against its tag. */
export async function verifyOperationId(key: string, id: string): Promise<VerifiedId> {
  const h = plain(id);
  const version = h[12];
  if (h.length !== 32 || (version !== "7" && version !== "8")) return { form: "unknown" };
  const digit = Number.parseInt(h[KIND_AT]!, 16);
  const tagged = digit >= 8 && (await tagOf(key, h.slice(0, BODY_HEX))) === h.slice(BODY_HEX);
  if (!tagged) return version === "7" ? { form: "unsigned" } : { form: "unknown" };
  const kind = kindOf(h);
  if (version === "8") return { form: "keyed", kind };
  return { form: "signed", kind, acceptedAt: Number.parseInt(h.slice(0, 12), 16) };
}

/** Whether a queue message's operation id is keyed: its order is then its `order_id`. */
export const isKeyedId = (id: string) => plain(id)[12] === "8";

/**
 * The subscriber id a keyed create gives its subscriber: derived from its operation id, so every
 * location that accepts the create names the same subscriber in its 202.
 */
export async function keyedSubscriberId(key: string, operationId: string): Promise<string> {
  const d = await hmacSha256Hex(key, `subscriber-id:v1:${plain(operationId)}`);
  return dashed(`${d.slice(0, 12)}8${d.slice(12, 15)}8${d.slice(15, 30)}`);
}

/** The name a location keeps an operation's copy under: a keyed one under its Idempotency-Key, whatever its kind. */
export const operationCacheName = (id: string) => (isKeyedId(id) ? `key/${keyedRoot(id)}` : plain(id));
