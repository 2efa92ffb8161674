import type { Principal } from "../auth/index.ts";
import { hasScope } from "../auth/index.ts";
import type { Read } from "../cache/read-through.ts";
import { readThrough, safeGet } from "../cache/read-through.ts";
import type { OperationRow } from "../db/repositories/operations.ts";
import { findOperation, isErasedOperation } from "../db/repositories/operations.ts";
import { findSubscriberByEmail, findSubscriberById } from "../db/repositories/subscribers.ts";
import { DomainError } from "../lib/errors.ts";
import { isUuid } from "../lib/ids.ts";
import { errorMessage } from "../lib/log.ts";
import type { Runtime } from "../runtime.ts";
import { isEmailAddress } from "./email.ts";
import { expireIfLost } from "./expiry.ts";
import { cacheKeys, subscriberCaching, toOperationView, toSubscriberView } from "./model.ts";
import { verifyOperationId } from "./operation-id.ts";
import type { Operation, OperationKind, Subscriber } from "./schema.ts";

/**
 * A subscriber reference from a path: an id (UUID) or an email address (anything containing "@").
 * An address is held to the one rule every stored address passed (src/subscribers/email.ts): what
 * the consumer would refuse cannot match anyone, so it is a 422 here, not a write that fails later.
 */
export function parseSubscriberRef(idOrEmail: string): { id?: string; email?: string } {
  const byEmail = idOrEmail.includes("@");
  if (byEmail ? !isEmailAddress(idOrEmail) : !isUuid(idOrEmail)) {
    throw new DomainError("validation_failed", "Give a subscriber id (UUID) or an email address.", {
      fields: [{ field: "id_or_email", message: "must be a UUID or an email address" }],
    });
  }
  return byEmail ? { email: idOrEmail.trim() } : { id: idOrEmail.toLowerCase() };
}

/** By id or by email, cache-aside. */
/**
 * `forWrite`: the lookup of a change's target at the edge, which fills no cache entry on a miss: an
 * accepted write costs KV nothing, and the consumer's check after commit finds no copy to correct.
 */
export async function getSubscriber(rt: Runtime, idOrEmail: string, opts: { forWrite?: boolean } = {}): Promise<Read<Subscriber>> {
  const ref = parseSubscriberRef(idOrEmail);
  const key = ref.email ? await cacheKeys.byEmail(ref.email) : cacheKeys.byId(ref.id!);
  const { value, cache } = await readThrough(
    rt,
    key,
    async () => {
      const row = ref.email ? await findSubscriberByEmail(rt.reader(), ref.email) : await findSubscriberById(rt.reader(), ref.id!);
      return row ? toSubscriberView(row) : undefined;
    },
    { ...subscriberCaching(rt.config).read, noFill: opts.forWrite === true },
  );
  if (!value) throw new DomainError("not_found", "No subscriber has this id or email.");
  return { value, cache };
}

/**
 * An operation minted before ids were signed (src/subscribers/operation-id.ts), looked up as then: a
 * pending one lived only in KV (written when the write was accepted, read here until it expires)
 * and is re-checked in Postgres on every read. Nothing is written back.
 */
export async function findOperationView(rt: Runtime, id: string): Promise<Operation | undefined> {
  const cachedOp = await safeGet<{ v?: Operation; erased?: true }>(rt, cacheKeys.operation(id));
  if (cachedOp?.erased) throw erasedOperation();
  if (cachedOp?.v && cachedOp.v.status !== "pending") return cachedOp.v;
  const row = await findOperation(rt.reader(), id);
  if (!row) return cachedOp?.v && expireIfLost(cachedOp.v, rt.config);
  return viewOfRow(row);
}

export const pendingOperation = (id: string, kind: OperationKind, subscriberId: string | null): Operation => ({
  id,
  kind,
  status: "pending",
  subscriber_id: subscriberId,
  subscriber_version: null,
  error: null,
  completed_at: null,
});

/**
 * An operation erased with its subscriber (docs/api.md "Erasure") is 410, not 404: the client learns that
 * it existed and was erased on purpose, and nothing else about it.
 */
const erasedOperation = () =>
  new DomainError("gone", "This operation was erased with its subscriber; nothing about it is kept, and nothing was stored again.");

/** Postgres's view of an operation, or 410 when it was erased. */
export function viewOfRow(row: OperationRow): Operation {
  if (isErasedOperation(row)) throw erasedOperation();
  return toOperationView(row);
}

/**
 * What a key may see of an operation. A key without `subscribers:read` never learns a subscriber id
 * (docs/api.md "`Prefer: wait=N`"), except on a create, the id the edge minted for the subscriber the caller
 * itself is creating (an already_exists failure names another subscriber, so not then).
 */
function operationFor(principal: Principal, op: Operation): Operation {
  if (hasScope(principal, "subscribers:read")) return op;
  const own = op.kind === "subscriber.create" && (op.status === "pending" || op.status === "succeeded");
  return own ? op : { ...op, subscriber_id: null };
}

/**
 * An operation by id. Outcomes are in Postgres. An id this edge signed that Postgres does not know
 * yet is pending (its message is on the queue): shown as `seen` (the accepting location's view, with
 * its subscriber) or else from the id alone (its kind, no subscriber id). A signed id's pending
 * answer is bounded by its time (expireIfLost); a keyed id holds no time and stays pending. An id
 * that is neither signed nor from before is a 404 without a storage read.
 */
export async function getOperation(rt: Runtime, rawId: string, seen?: Operation): Promise<Operation> {
  const id = rawId.toLowerCase();
  const verified = await verifyOperationId(rt.config.erasureHashKey, id);
  if (verified.form === "unknown") throw noOperation();
  if (verified.form === "unsigned") {
    const op = await findOperationView(rt, id);
    if (!op) throw noOperation();
    return op;
  }
  const row = await findOperation(rt.reader(), id);
  if (row) return viewOfRow(row);
  const view = seen?.id === id && seen.status === "pending" ? seen : pendingOperation(id, verified.kind, null);
  return verified.form === "signed" ? expireIfLost(view, rt.config) : view;
}

const noOperation = () => new DomainError("not_found", "No operation has this id.");

/** `Prefer: wait` never holds a request longer than this (docs/api.md "`Prefer: wait=N`"). */
export const MAX_WAIT_SECONDS = 10;

/**
 * Waits up to `seconds` for an accepted write's outcome, polling Postgres (20 ms, doubling to 250 ms).
 * Returns the operation as it stands at the end: still pending means the caller answers 202. A
 * database that fails meanwhile ends the wait early, never the request.
 */
export async function awaitOperation(rt: Runtime, accepted: Operation, seconds: number): Promise<Operation> {
  let op = accepted;
  const deadline = Date.now() + Math.min(seconds, MAX_WAIT_SECONDS) * 1000;
  let delay = 20;
  while (op.status === "pending") {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, 250);
    try {
      const row = await findOperation(rt.reader(), op.id);
      if (row) op = viewOfRow(row);
    } catch (err) {
      rt.log.warn("operation_wait_failed", { error: errorMessage(err) });
      break;
    }
  }
  return op;
}

export type WriteResult =
  | { status: "accepted"; operation: Operation }
  | { status: "created" | "updated"; subscriber: Subscriber; operation: Operation }
  /** Applied, for a key that may not read subscribers: the finished operation is all it gets. */
  | { status: "finished"; operation: Operation }
  | { status: "gone"; operation: Operation };

/**
 * What a finished operation means for the request that made it: the subscriber it created or
 * changed (the operation alone for a key without `subscribers:read`), nothing (a delete or erasure),
 * or the problem that stopped it, as the one DomainError. Every operation returned is as
 * `operationFor` shows it to this key.
 */
export async function writeResult(rt: Runtime, principal: Principal, raw: Operation): Promise<WriteResult> {
  const op = operationFor(principal, raw);
  if (op.status === "pending") return { status: "accepted", operation: op };
  const extra = { operation_id: op.id };
  if (op.status === "superseded") {
    throw new DomainError("conflict", "A newer change to this subscriber was applied first, so this one was not applied.", {
      extra: { ...extra, code: "superseded" },
    });
  }
  if (op.status === "failed") {
    const code = op.error?.code;
    const detail = op.error?.message ?? "The write failed.";
    switch (code) {
      case "already_exists": {
        const who = hasScope(principal, "subscribers:read") && op.subscriber_id ? { existing_id: op.subscriber_id } : {};
        throw new DomainError("conflict", detail, { extra: { ...extra, code, ...who } });
      }
      case "precondition_failed":
        throw new DomainError("precondition_failed", detail, { extra: { ...extra, code, current_version: op.subscriber_version } });
      case "not_found":
        throw new DomainError("not_found", detail, { extra: { ...extra, code } });
      case "invalid_transition":
        throw new DomainError("validation_failed", detail, { extra: { ...extra, code }, fields: [{ field: "status", message: detail }] });
      default:
        throw new DomainError("validation_failed", detail, { extra: { ...extra, code: code ?? "invalid_data" } });
    }
  }
  if (op.kind === "subscriber.delete" || op.kind === "subscriber.forget") return { status: "gone", operation: op };
  if (!hasScope(principal, "subscribers:read")) return { status: "finished", operation: op };
  const row = op.subscriber_id ? await findSubscriberById(rt.reader(), op.subscriber_id) : undefined;
  // Applied, but a later change already removed it: the outcome is all there is to show.
  if (!row) return { status: "accepted", operation: op };
  return { status: op.kind === "subscriber.create" ? "created" : "updated", subscriber: toSubscriberView(row), operation: op };
}
