import { v7 as uuidv7 } from "uuid";
import type { Principal } from "../auth/index.ts";
import { hasScope } from "../auth/index.ts";
import { safeGet } from "../cache/read-through.ts";
import { canonicalJson, hmacSha256Hex, timingSafeEqualStr } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { sendSubscriberWrite } from "./journal.ts";
import type { SubscriberWriteMessage } from "./messages.ts";
import { cacheKeys, emailHash } from "./model.ts";
import { isKeyedId, keyedOperationId, keyedSubscriberId, signedOperationId } from "./operation-id.ts";
import type { IfMatch } from "./preconditions.ts";
import { cannotHold, ifMatchFields } from "./preconditions.ts";
import type { LocalOperations } from "./replay.ts";
import { olderReplay, refusedReplay, replayOf } from "./replay.ts";
import type { Operation, OperationKind, Subscriber, SubscriberInput, SubscriberPatch } from "./schema.ts";
import { getSubscriber, parseSubscriberRef, pendingOperation } from "./service.ts";

/**
 * The edge's half of every subscriber write: answer what it already knows (a replayed
 * Idempotency-Key Postgres has the operation of, a known address, a stale If-Match), otherwise give
 * the change an operation id (src/subscribers/operation-id.ts) and enqueue it. The consumer decides
 * against Postgres. Nothing is reported as accepted that was not enqueued, and accepting writes
 * nothing to KV: the id itself says the operation is pending, and the Idempotency-Key is the id.
 */

export interface Accepted {
  operation: Operation;
  replayed: boolean;
}

/** What every change's message carries besides its own fields. */
type Change = { v: 1; operation_id: string; order_id?: string; requested_at: string; request_mac: string };

async function accept(
  rt: Runtime,
  principal: Principal,
  kind: OperationKind,
  idempotencyKey: string | undefined,
  /** What makes two requests the same request: replaying a key with another is refused. */
  fingerprint: unknown,
  here: LocalOperations | undefined,
  prepare: (change: Change) => Promise<{ message: SubscriberWriteMessage; operation: Operation }>,
): Promise<Accepted> {
  const hashKey = rt.config.erasureHashKey;
  const requestMac = await hmacSha256Hex(hashKey, canonicalJson(fingerprint));
  const now = Date.now();
  const change: Change = { v: 1, operation_id: "", requested_at: new Date(now).toISOString(), request_mac: requestMac };
  if (idempotencyKey !== undefined) {
    change.operation_id = await keyedOperationId(hashKey, kind, principal.keyId, idempotencyKey);
    // Postgres first: once it has the operation, it alone decides. Before, this location's copy
    // answers a replay of what it accepted itself, and refuses another request under the key.
    let known = await replayOf(rt, change.operation_id, requestMac);
    if (!known) {
      const local = await here?.seen(change.operation_id);
      const mac = local?.request_mac;
      if (local && (local.operation.id !== change.operation_id || (mac !== undefined && !timingSafeEqualStr(mac, requestMac)))) {
        throw refusedReplay();
      }
      known = mac !== undefined ? local?.operation : undefined;
      // Only while records of the version before keyed ids can still be in KV (LEGACY_IDEMPOTENCY_UNTIL).
      if (!known && now < rt.config.legacyIdempotencyUntilMs) known = await olderReplay(rt, principal, idempotencyKey, fingerprint);
    }
    if (known) return { operation: known, replayed: true };
    // A keyed id holds no time: the order of acceptance travels beside it.
    change.order_id = uuidv7({ msecs: now });
  } else change.operation_id = await signedOperationId(hashKey, kind, now);
  const { message, operation } = await prepare(change);
  try {
    await sendSubscriberWrite(rt, message);
  } catch (err) {
    rt.log.error("queue_send_failed", { queue: "subscriber-writes", error: errorMessage(err) });
    throw new DomainError("unavailable", "The write queue is not accepting requests right now; nothing was stored.", {
      retryAfterSeconds: 5,
      cause: err,
    });
  }
  here?.keep({ operation, request_mac: requestMac });
  return { operation, replayed: false };
}

export function createSubscriber(
  rt: Runtime,
  principal: Principal,
  input: SubscriberInput,
  idempotencyKey: string | undefined,
  here?: LocalOperations,
) {
  return accept(
    rt,
    principal,
    "subscriber.create",
    idempotencyKey,
    { op: "create", ...input, email: input.email.toLowerCase() },
    here,
    async (change) => {
      // A positive cache entry is authoritative enough to answer 409 at once; an absence never is.
      const known = await safeGet<{ v?: Subscriber }>(rt, await cacheKeys.byEmail(input.email));
      if (known?.v) {
        // Only a key that may read subscribers learns whose the address is.
        const extra = hasScope(principal, "subscribers:read") ? { existing_id: known.v.id } : undefined;
        throw new DomainError("conflict", "A subscriber with this email already exists.", extra ? { extra } : {});
      }
      const message = {
        type: "subscriber.create" as const,
        ...change,
        // A keyed create names the same subscriber wherever it is accepted.
        subscriber: {
          id: isKeyedId(change.operation_id) ? await keyedSubscriberId(rt.config.erasureHashKey, change.operation_id) : uuidv7(),
          email: input.email,
          name: input.name,
          last_name: input.last_name,
          status: input.status,
        },
      };
      return { message, operation: pendingOperation(message.operation_id, "subscriber.create", message.subscriber.id) };
    },
  );
}

/**
 * The subscriber a change is about, as this edge knows it (cache first), checked against If-Match.
 * Versions only grow, so a cached version can be behind Postgres but never ahead: an If-Match whose
 * versions are all below it can no longer hold (412 at once); otherwise the consumer decides.
 */
async function target(rt: Runtime, ref: string, ifMatch: IfMatch | undefined): Promise<Subscriber> {
  const { value } = await getSubscriber(rt, ref, { forWrite: true });
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
  here?: LocalOperations,
) {
  return accept(
    rt,
    principal,
    "subscriber.update",
    idempotencyKey,
    { op: "update", ref: sameRef(ref), patch, ifMatch },
    here,
    async (change) => {
      const subscriber = await target(rt, ref, ifMatch);
      const message = {
        type: "subscriber.update" as const,
        ...change,
        subscriber_id: subscriber.id,
        changes: patch,
        ...ifMatchFields(ifMatch),
      };
      return { message, operation: pendingOperation(message.operation_id, "subscriber.update", subscriber.id) };
    },
  );
}

export function deleteSubscriber(
  rt: Runtime,
  principal: Principal,
  ref: string,
  ifMatch: IfMatch | undefined,
  idempotencyKey: string | undefined,
  here?: LocalOperations,
) {
  return accept(rt, principal, "subscriber.delete", idempotencyKey, { op: "delete", ref: sameRef(ref), ifMatch }, here, async (change) => {
    const subscriber = await target(rt, ref, ifMatch);
    const message = { type: "subscriber.delete" as const, ...change, subscriber_id: subscriber.id, ...ifMatchFields(ifMatch) };
    return { message, operation: pendingOperation(message.operation_id, "subscriber.delete", subscriber.id) };
  });
}

/**
 * Erasure needs no live subscriber: an address whose subscriber was deleted earlier still has
 * events, operations and dead letters to erase, and an address not yet stored gets a tombstone that
 * refuses its pending creates. So a lookup that finds nothing is not a 404 here.
 */
export async function forgetSubscriber(
  rt: Runtime,
  principal: Principal,
  ref: string,
  idempotencyKey: string | undefined,
  here?: LocalOperations,
) {
  const parsed = parseSubscriberRef(ref);
  let subscriber: Subscriber | undefined;
  try {
    subscriber = (await getSubscriber(rt, ref, { forWrite: true })).value;
  } catch (err) {
    if (!(err instanceof DomainError && err.code === "not_found")) throw err;
  }
  const email = subscriber?.email ?? parsed.email;
  const id = subscriber?.id ?? parsed.id;
  // The fingerprint holds no address, only its keyed hash: the record outlives the erasure.
  const fingerprint = { op: "forget", id, email: email ? await emailHash(rt.config.erasureHashKey, email) : undefined };
  return accept(rt, principal, "subscriber.forget", idempotencyKey, fingerprint, here, async (change) => {
    const message = {
      type: "subscriber.forget" as const,
      ...change,
      ...(id ? { subscriber_id: id } : {}),
      ...(email ? { email } : {}),
    };
    return { message, operation: pendingOperation(message.operation_id, "subscriber.forget", id ?? null) };
  });
}
