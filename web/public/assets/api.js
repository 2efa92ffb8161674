// @ts-check
// The page's only way to talk to the API. Plain JS so the browser runs the file as served (no build
// step); `tsc -p web` checks it strictly from these JSDoc types.

/**
 * @typedef {{ field: string, message: string }} FieldError
 * @typedef {{ type?: string, title?: string, status: number, detail?: string, errors?: FieldError[], existing_id?: string, [k: string]: unknown }} Problem
 * @typedef {"unconfirmed" | "active" | "unsubscribed" | "bounced" | "junk"} SubscriberStatus
 * @typedef {{ id: string, email: string, name: string, last_name: string, status: SubscriberStatus, created_at: string, updated_at: string, unsubscribed_at: string | null, version: number }} Subscriber
 * @typedef {"subscriber.create" | "subscriber.update" | "subscriber.delete" | "subscriber.forget"} OperationKind
 * @typedef {{ id: string, kind: OperationKind, status: "pending" | "succeeded" | "failed" | "superseded", subscriber_id: string | null, subscriber_version: number | null, error: { code: string, message: string } | null, completed_at: string | null }} Operation
 * @typedef {{ data: Subscriber[], meta: { limit: number, next_cursor: string | null, prev_cursor: string | null } }} SubscriberPage
 */

/**
 * @template T
 * @typedef {{ ok: true, status: number, body: T } | { ok: false, status: number, problem: Problem, retryAfter: number | null }} Result
 */

const KEY_ITEM = "edge-api.key";

/** sessionStorage: the key lives as long as the tab and never leaves it except in the Authorization header. */
export const apiKey = {
  /** @returns {string} */
  get: () => sessionStorage.getItem(KEY_ITEM) ?? "",
  /** @param {string} key */
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

/**
 * @template T
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, auth?: boolean, headers?: Record<string, string> }} [opts]
 * @returns {Promise<Result<T>>}
 */
export async function request(method, path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json, application/problem+json", ...opts.headers };
  if (opts.auth !== false) headers.Authorization = `Bearer ${apiKey.get()}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? null : JSON.stringify(opts.body), cache: "no-store" });
  } catch {
    return {
      ok: false,
      status: 0,
      problem: { status: 0, title: "Network error", detail: "The API could not be reached." },
      retryAfter: null,
    };
  }
  const text = await res.text();
  /** @type {unknown} */
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): fall through with the status alone.
  }
  if (res.ok) return { ok: true, status: res.status, body: /** @type {T} */ (parsed) };
  const problem = parsed && typeof parsed === "object" ? /** @type {Problem} */ (parsed) : { status: res.status };
  const retryAfter = Number(res.headers.get("retry-after")) || null;
  return { ok: false, status: res.status, problem, retryAfter };
}

/**
 * One sentence for errors that are not about a form field.
 * @param {number} status
 * @param {Problem} problem
 * @param {number | null} retryAfter
 */
export function describeFailure(status, problem, retryAfter) {
  switch (status) {
    case 0:
      return "The API could not be reached. Check your connection and try again.";
    case 401:
      return "The API key was not accepted (401). Check the key and enter it again.";
    case 403:
      return `This API key is not allowed to do that (403). ${problem.detail ?? ""}`.trim();
    case 429:
      return `Too many requests (429). Try again${retryAfter ? ` in ${retryAfter} s` : " shortly"}.`;
    case 503:
      return `The service is unavailable right now (503). Try again${retryAfter ? ` in ${retryAfter} s` : " shortly"}.`;
    default:
      return `${problem.title ?? "Request failed"} (${status}). ${problem.detail ?? ""}`.trim();
  }
}
