import { v7 as uuidv7 } from "uuid";
import type { Principal } from "../auth/principal.ts";
import { hasScope } from "../auth/principal.ts";
import type { Read } from "../cache/read-through.ts";
import { cached, readThrough, safeGet, safePut } from "../cache/read-through.ts";
import { findOperation } from "../db/repositories/operations.ts";
import { findSubscriberByEmail, findSubscriberById } from "../db/repositories/subscribers.ts";
import { canonicalJson, sha256Hex } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { errorMessage } from "../lib/log.ts";
import type { SubscriberCreateMessage } from "../queue/schema.ts";
import type { Runtime } from "../runtime.ts";
import { cacheKeys, TTL, toOperationView, toSubscriberView } from "./model.ts";
import type { Operation, Subscriber, SubscriberInput } from "./schema.ts";

/**
 * Stored emails are printable ASCII (the create schema's email format), so a lookup holding anything
 * else (a NUL, a control, a lone surrogate) cannot match and would only make Postgres fail: 422.
 */
const LOOKUP_EMAIL = /^[\x20-\x7e]{1,254}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** By id or by email (anything containing "@"), cache-aside. */
export async function getSubscriber(rt: Runtime, idOrEmail: string): Promise<Read<Subscriber>> {
  const byEmail = idOrEmail.includes("@");
  if (byEmail ? !LOOKUP_EMAIL.test(idOrEmail.trim()) : !UUID.test(idOrEmail)) {
    throw new DomainError("validation_failed", "Give a subscriber id (UUID) or an email address.", {
      fields: [{ field: "id_or_email", message: "must be a UUID or an email address" }],
    });
  }
  const key = byEmail ? cacheKeys.byEmail(idOrEmail) : cacheKeys.byId(idOrEmail.toLowerCase());
  const { value, cache } = await readThrough(
    rt,
    key,
    async () => {
      const row = byEmail ? await findSubscriberByEmail(rt.db(), idOrEmail.trim()) : await findSubscriberById(rt.db(), idOrEmail);
      return row ? toSubscriberView(row) : undefined;
    },
    { hitSeconds: TTL.subscriber, missingSeconds: TTL.missing, hotSeconds: TTL.subscriberHot },
  );
  if (!value) throw new DomainError("not_found", "No subscriber has this id or email.");
  return { value, cache };
}

export interface CreateResult {
  operation: Operation;
  replayed: boolean;
}

interface IdempotencyRecord {
  bodyHash: string;
  operation: Operation;
}

/**
 * Accepts a subscriber for asynchronous creation: the edge answers from what it knows (cache) and
 * enqueues; the consumer makes the decision against Postgres. Nothing is reported as accepted that
 * was not enqueued.
 */
export async function createSubscriber(
  rt: Runtime,
  principal: Principal,
  input: SubscriberInput,
  idempotencyKey: string | undefined,
): Promise<CreateResult> {
  let idemCacheKey: string | undefined;
  let bodyHash = "";
  if (idempotencyKey !== undefined) {
    idemCacheKey = cacheKeys.idempotency(principal.keyId, await sha256Hex(idempotencyKey));
    bodyHash = await sha256Hex(canonicalJson({ ...input, email: input.email.toLowerCase() }));
    const previous = await safeGet<IdempotencyRecord>(rt, idemCacheKey);
    if (previous) {
      if (previous.bodyHash !== bodyHash) {
        throw new DomainError("validation_failed", "This Idempotency-Key was already used with a different request body.", {
          fields: [{ field: "Idempotency-Key", message: "reused with a different body" }],
        });
      }
      return { operation: (await findOperationView(rt, previous.operation.id)) ?? previous.operation, replayed: true };
    }
  }

  // A positive cache entry is authoritative enough to answer 409 at once; an absence never is.
  const known = await safeGet<{ v?: Subscriber }>(rt, cacheKeys.byEmail(input.email));
  if (known?.v) {
    // Only a key that may read subscribers learns whose the address is.
    const extra = hasScope(principal, "subscribers:read") ? { existing_id: known.v.id } : undefined;
    throw new DomainError("conflict", "A subscriber with this email already exists.", extra ? { extra } : {});
  }

  const message: SubscriberCreateMessage = {
    type: "subscriber.create",
    v: 1,
    operation_id: uuidv7(),
    requested_at: new Date().toISOString(),
    subscriber: { id: uuidv7(), email: input.email, name: input.name, last_name: input.last_name, status: input.status },
  };
  try {
    await rt.env.SUBSCRIBER_QUEUE.send(message, { contentType: "json" });
  } catch (err) {
    rt.log.error("queue_send_failed", { queue: "subscriber-writes", error: errorMessage(err) });
    throw new DomainError("unavailable", "The write queue is not accepting requests right now; nothing was stored.", {
      retryAfterSeconds: 5,
      cause: err,
    });
  }

  const operation: Operation = {
    id: message.operation_id,
    kind: "subscriber.create",
    status: "pending",
    subscriber_id: message.subscriber.id,
    error: null,
    completed_at: null,
  };
  await Promise.all([
    safePut(rt, cacheKeys.operation(operation.id), { v: operation }, TTL.operation),
    idemCacheKey ? safePut(rt, idemCacheKey, { bodyHash, operation } satisfies IdempotencyRecord, TTL.idempotency) : undefined,
  ]);
  return { operation, replayed: false };
}

/**
 * A finished operation is final: once read from Postgres it is cached for good. A pending one lives
 * only in the cache (written by the POST) and is re-checked in Postgres on every read.
 */
async function findOperationView(rt: Runtime, id: string): Promise<Operation | undefined> {
  const cachedOp = await safeGet<{ v?: Operation }>(rt, cacheKeys.operation(id));
  if (cachedOp?.v && cachedOp.v.status !== "pending") return cachedOp.v;
  const row = await findOperation(rt.db(), id);
  if (!row) return cachedOp?.v;
  const view = toOperationView(row);
  if (view.status !== "pending") await safePut(rt, cacheKeys.operation(id), cached(view), TTL.operation);
  return view;
}

/** Pending operations live in the cache; outcomes are in Postgres (and cached by their first read). */
export async function getOperation(rt: Runtime, id: string): Promise<Operation> {
  const op = await findOperationView(rt, id);
  if (!op) throw new DomainError("not_found", "No operation has this id.");
  return op;
}
