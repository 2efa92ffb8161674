// @ts-check
import { request } from "./api.js";

/**
 * A change to a stored subscriber (PATCH, DELETE, forget) from request to outcome: sent with
 * `Prefer: wait=5`, so usually the answer is the final result; otherwise the 202's operation is
 * polled until it is no longer pending. Every ending is one Outcome, whichever way it came.
 *
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./api.js").Subscriber} Subscriber
 * @typedef {import("./api.js").Problem} Problem
 * @typedef {{ state: "applied", subscriber: Subscriber | null, version: number | null }
 *   | { state: "gone" }
 *   | { state: "refused", status: number, code: string, message: string, problem: Problem, retryAfter: number | null }
 *   | { state: "pending", operation: Operation }
 *   | { state: "abandoned" }} Outcome
 */

const WAIT_SECONDS = 5;
const POLL_FOR_MS = 60_000;

/** What a failed operation would have been answered with under `Prefer: wait` (src/subscribers/service.ts writeResult). */
const STATUS_OF = /** @type {Record<string, number>} */ ({
  precondition_failed: 412,
  not_found: 404,
  already_exists: 409,
  invalid_transition: 422,
  invalid_data: 422,
});

/**
 * @param {"PATCH" | "DELETE" | "POST"} method
 * @param {string} path
 * @param {{ body?: unknown, ifMatch?: number }} opts
 * @param {{ onPending(op: Operation): void, isCurrent(): boolean }} hooks
 * @returns {Promise<Outcome>}
 */
export async function submitChange(method, path, opts, hooks) {
  /** @type {Record<string, string>} */
  const headers = { Prefer: `wait=${WAIT_SECONDS}`, "Idempotency-Key": crypto.randomUUID() };
  if (opts.ifMatch !== undefined) headers["If-Match"] = `"${opts.ifMatch}"`;
  const res = /** @type {import("./api.js").Result<{ data: Subscriber | Operation } | null>} */ (
    await request(method, path, { body: opts.body, headers })
  );
  if (!res.ok) {
    const p = res.problem;
    const code = typeof p.code === "string" ? p.code : (p.type ?? "");
    return { state: "refused", status: res.status, code, message: p.detail ?? p.title ?? "", problem: p, retryAfter: res.retryAfter };
  }
  if (res.status === 204 || !res.body) return { state: "gone" };
  if (res.status === 200) {
    const subscriber = /** @type {Subscriber} */ (res.body.data);
    return { state: "applied", subscriber, version: subscriber.version };
  }
  const op = /** @type {Operation} */ (res.body.data);
  if (op.status === "pending") hooks.onPending(op);
  return follow(op, hooks.isCurrent);
}

/**
 * @param {Operation} accepted
 * @param {() => boolean} isCurrent
 * @returns {Promise<Outcome>}
 */
async function follow(accepted, isCurrent) {
  let op = accepted;
  let delay = 300;
  const deadline = Date.now() + POLL_FOR_MS;
  while (op.status === "pending" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 2_000);
    if (!isCurrent()) return { state: "abandoned" };
    const res = /** @type {import("./api.js").Result<{ data: Operation }>} */ (await request("GET", `/v1/operations/${op.id}`));
    if (res.ok) op = res.body.data;
    // A pending operation can be briefly unknown to a read (404), and a 5xx may pass: keep polling.
    else if (res.status !== 404 && res.status < 500) {
      return {
        state: "refused",
        status: res.status,
        code: "",
        message: res.problem.detail ?? "",
        problem: res.problem,
        retryAfter: res.retryAfter,
      };
    }
  }
  return fromOperation(op);
}

/** @param {Operation} op @returns {Outcome} */
function fromOperation(op) {
  switch (op.status) {
    case "pending":
      return { state: "pending", operation: op };
    case "succeeded":
      return op.kind === "subscriber.update" ? { state: "applied", subscriber: null, version: op.subscriber_version } : { state: "gone" };
    case "superseded": {
      const message = "A newer change to this subscriber was applied first, so this one was not applied.";
      return { state: "refused", status: 409, code: "superseded", message, problem: { status: 409 }, retryAfter: null };
    }
    default: {
      const code = op.error?.code ?? "invalid_data";
      const problem = { status: STATUS_OF[code] ?? 422, current_version: op.subscriber_version };
      return {
        state: "refused",
        status: problem.status,
        code,
        message: op.error?.message ?? "The change failed.",
        problem,
        retryAfter: null,
      };
    }
  }
}

/**
 * The subscriber after an applied change. Reads are cache-first and an isolate may serve the old
 * state for a few seconds (docs/api.md "Cache bounds"), so read again until the version is there.
 * @param {string} id
 * @param {number | null} atLeast
 * @returns {Promise<import("./api.js").Result<{ data: Subscriber }>>}
 */
export async function readAfterChange(id, atLeast) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = /** @type {import("./api.js").Result<{ data: Subscriber }>} */ (
      await request("GET", `/v1/subscribers/${encodeURIComponent(id)}`)
    );
    if (!res.ok || atLeast === null || res.body.data.version >= atLeast || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 500));
  }
}
