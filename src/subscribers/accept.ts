import { v7 as uuidv7 } from "uuid";
import type { Principal } from "../auth/index.ts";
import { hasScope } from "../auth/index.ts";
import { safeGet, safePut } from "../cache/read-through.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import type { IdempotencyRecord } from "./idempotency.ts";
import { idempotencyRecord, isSameRequest } from "./idempotency.ts";
import { sendSubscriberWrite } from "./journal.ts";
import type { SubscriberWriteMessage } from "./messages.ts";
import { cacheKeys, emailHash, TTL } from "./model.ts";
import type { IfMatch } from "./preconditions.ts";
import { cannotHold, ifMatchFields } from "./preconditions.ts";
import type { Operation, OperationKind, Subscriber, SubscriberInput, SubscriberPatch } from "./schema.ts";
import { findOperationView, getSubscriber, parseSubscriberRef } from "./service.ts";

/**
 * The edge's half of every subscriber write: answer what it already knows (a replayed
 * Idempotency-Key, a known address, a stale If-Match), otherwise give the change an operation id (a
 * UUIDv7: the order of acceptance) and enqueue it. The consumer decides against Postgres. Nothing is
 * reported as accepted that was not enqueued.
 */

export interface Accepted {
  operation: Operation;
  replayed: boolean;
}

async function accept(
  rt: Runtime,
  principal: Principal,
  idempotencyKey: string | undefined,
  /** What makes two requests the same request: replaying a key with another is refused. */
  fingerprint: unknown,
  prepare: (idempotencyCacheKey: string | undefined) => Promise<{ message: SubscriberWriteMessage; operation: Operation }>,
): Promise<Accepted> {
  let idemCacheKey: string | undefined;
  const hashKey = rt.config.erasureHashKey;
  if (idempotencyKey !== undefined) {
    idemCacheKey = cacheKeys.idempotency(principal.keyId, await sha256Hex(idempotencyKey));
    const previous = await safeGet<IdempotencyRecord>(rt, idemCacheKey);
    if (previous) {
      if (!(await isSameRequest(previous, hashKey, fingerprint))) {
        throw new DomainError("validation_failed", "This Idempotency-Key was already used with a different request.", {
          fields: [{ field: "Idempotency-Key", message: "reused with a different request" }],
        });
      }
      // An operation erased with its subscriber answers 410 here (findOperationView): nothing is stored again.
      return { operation: (await findOperationView(rt, previous.operation.id)) ?? previous.operation, replayed: true };
    }
  }
  const { message, operation } = await prepare(idemCacheKey);
  try {
    await sendSubscriberWrite(rt, message);
  } catch (err) {
    rt.log.error("queue_send_failed", { queue: "subscriber-writes", error: errorMessage(err) });
    throw new DomainError("unavailable", "The write queue is not accepting requests right now; nothing was stored.", {
      retryAfterSeconds: 5,
      cause: err,
    });
  }
  await Promise.all([
    safePut(rt, cacheKeys.operation(operation.id), { v: operation }, TTL.operation),
    idemCacheKey ? safePut(rt, idemCacheKey, await idempotencyRecord(hashKey, fingerprint, operation), TTL.idempotency) : undefined,
  ]);
  return { operation, replayed: false };
}

const pending = (id: string, kind: OperationKind, subscriberId: string | null): Operation => ({
  id,
  kind,
  status: "pending",
  subscriber_id: subscriberId,
  subscriber_version: null,
  error: null,
  completed_at: null,
});

const change = (idempotencyCacheKey: string | undefined) => ({
  v: 1 as const,
  operation_id: uuidv7(),
  requested_at: new Date().toISOString(),
  ...(idempotencyCacheKey ? { idempotency_key: idempotencyCacheKey } : {}),
});

export function createSubscriber(rt: Runtime, principal: Principal, input: SubscriberInput, idempotencyKey: string | undefined) {
  return accept(rt, principal, idempotencyKey, { op: "create", ...input, email: input.email.toLowerCase() }, async (idem) => {
    // A positive cache entry is authoritative enough to answer 409 at once; an absence never is.
    const known = await safeGet<{ v?: Subscriber }>(rt, await cacheKeys.byEmail(input.email));
    if (known?.v) {
      // Only a key that may read subscribers learns whose the address is.
      const extra = hasScope(principal, "subscribers:read") ? { existing_id: known.v.id } : undefined;
      throw new DomainError("conflict", "A subscriber with this email already exists.", extra ? { extra } : {});
    }
    const message = {
      type: "subscriber.create" as const,
      ...change(idem),
      subscriber: { id: uuidv7(), email: input.email, name: input.name, last_name: input.last_name, status: input.status },
    };
    return { message, operation: pending(message.operation_id, "subscriber.create", message.subscriber.id) };
  });
}

/**
 * The subscriber a change is about, as this edge knows it (cache first), checked against If-Match.
 * Versions only grow, so a cached version can be behind Postgres but never ahead: an If-Match whose
 * versions are all below it can no longer hold (412 at once); otherwise the consumer decides.
 */
async function target(rt: Runtime, ref: string, ifMatch: IfMatch | undefined): Promise<Subscriber> {
  const { value } = await getSubscriber(rt, ref);
  if (cannotHold(ifMatch, value.version)) {
    throw new DomainError("precondition_failed", `If-Match does not hold: the subscriber is at version ${value.version}.`, {
      extra: { current_version: value.version },
    });
  }
  return value;
}

/** The reference as given, normalised: what makes two requests about the same subscriber the same request. */
const sameRef = (ref: string) => ref.trim().toLowerCase();

export function updateSubscriber(
  rt: Runtime,
  principal: Principal,
  ref: string,
  patch: SubscriberPatch,
  ifMatch: IfMatch | undefined,
  idempotencyKey: string | undefined,
) {
  return accept(rt, principal, idempotencyKey, { op: "update", ref: sameRef(ref), patch, ifMatch }, async (idem) => {
    const subscriber = await target(rt, ref, ifMatch);
    const message = {
      type: "subscriber.update" as const,
      ...change(idem),
      subscriber_id: subscriber.id,
      changes: patch,
      ...ifMatchFields(ifMatch),
    };
    return { message, operation: pending(message.operation_id, "subscriber.update", subscriber.id) };
  });
}

export function deleteSubscriber(
  rt: Runtime,
  principal: Principal,
  ref: string,
  ifMatch: IfMatch | undefined,
  idempotencyKey: string | undefined,
) {
  return accept(rt, principal, idempotencyKey, { op: "delete", ref: sameRef(ref), ifMatch }, async (idem) => {
    const subscriber = await target(rt, ref, ifMatch);
    const message = { type: "subscriber.delete" as const, ...change(idem), subscriber_id: subscriber.id, ...ifMatchFields(ifMatch) };
    return { message, operation: pending(message.operation_id, "subscriber.delete", subscriber.id) };
  });
}

/**
 * Erasure needs no live subscriber: an address whose subscriber was deleted earlier still has
 * events, operations and dead letters to erase, and an address not yet stored gets a tombstone that
 * refuses its pending creates. So a lookup that finds nothing is not a 404 here.
 */
export async function forgetSubscriber(rt: Runtime, principal: Principal, ref: string, idempotencyKey: string | undefined) {
  const parsed = parseSubscriberRef(ref);
  let subscriber: Subscriber | undefined;
  try {
    subscriber = (await getSubscriber(rt, ref)).value;
  } catch (err) {
    if (!(err instanceof DomainError && err.code === "not_found")) throw err;
  }
  const email = subscriber?.email ?? parsed.email;
  const id = subscriber?.id ?? parsed.id;
  // The fingerprint holds no address, only its keyed hash: the record outlives the erasure.
  const fingerprint = { op: "forget", id, email: email ? await emailHash(rt.config.erasureHashKey, email) : undefined };
  return accept(rt, principal, idempotencyKey, fingerprint, async (idem) => {
    const message = {
      type: "subscriber.forget" as const,
      ...change(idem),
      ...(id ? { subscriber_id: id } : {}),
      ...(email ? { email } : {}),
    };
    return { message, operation: pending(message.operation_id, "subscriber.forget", id ?? null) };
  });
}
