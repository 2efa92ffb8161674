import type { Principal } from "../auth/index.ts";
import { safeGet } from "../cache/read-through.ts";
import type { OperationRow } from "../db/repositories/operations.ts";
import { findFirstOperation } from "../db/repositories/operations.ts";
import { sha256Hex, timingSafeEqualStr } from "../lib/crypto.ts";
import { DomainError } from "../lib/errors.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import type { IdempotencyRecord } from "./idempotency.ts";
import { isSameRequest } from "./idempotency.ts";
import { cacheKeys } from "./model.ts";
import { keyedVariants } from "./operation-id.ts";
import type { Operation } from "./schema.ts";
import { findOperationView, viewOfRow } from "./service.ts";

// A replayed Idempotency-Key: where the edge looks for the operation it already made (src/subscribers/accept.ts).

/**
 * What this location remembers of the operations it accepted (the Cache API, per location: the http
 * layer's src/http/operation-cache.ts). A keyed operation is remembered under its Idempotency-Key,
 * whatever its kind. Never the truth: Postgres is asked first, and a copy only answers what
 * Postgres cannot yet (a replay here before the consumer ran).
 */
export interface LocalOperations {
  seen(id: string): Promise<SeenOperation | undefined>;
  keep(seen: SeenOperation): void;
}

export interface SeenOperation {
  operation: Operation;
  /** The HMAC of the request that made it, when this location accepted it. */
  request_mac?: string | undefined;
}

export const refusedReplay = () =>
  new DomainError("validation_failed", "This Idempotency-Key was already used with a different request.", {
    fields: [{ field: "Idempotency-Key", message: "reused with a different request" }],
  });

/**
 * A replayed Idempotency-Key, answered from what Postgres has of its operation (under any kind: the
 * same key for another kind of write is another request). Postgres away or behind: no answer, and
 * the write is enqueued again under the same id, which the consumer decides once.
 */
export async function replayOf(rt: Runtime, operationId: string, requestMac: string): Promise<Operation | undefined> {
  let row: OperationRow | undefined;
  try {
    row = await findFirstOperation(rt.reader(), await keyedVariants(rt.config.erasureHashKey, operationId));
  } catch (err) {
    rt.log.warn("idempotency_lookup_failed", { error: errorMessage(err) });
    return undefined;
  }
  if (!row) return undefined;
  if (row.id !== operationId || (row.requestMac !== null && !timingSafeEqualStr(row.requestMac, requestMac))) throw refusedReplay();
  return viewOfRow(row);
}

/** A record an Idempotency-Key left in KV before keys were ids, honoured for the rest of its 24 h (read, never written). */
export async function olderReplay(rt: Runtime, principal: Principal, idempotencyKey: string, fingerprint: unknown) {
  const previous = await safeGet<IdempotencyRecord>(rt, cacheKeys.idempotency(principal.keyId, await sha256Hex(idempotencyKey)));
  if (!previous) return undefined;
  if (!(await isSameRequest(previous, rt.config.erasureHashKey, fingerprint))) throw refusedReplay();
  // An operation erased with its subscriber answers 410 here (findOperationView): nothing is stored again.
  return (await findOperationView(rt, previous.operation.id)) ?? previous.operation;
}
