// @ts-check
import { describeFailure, request } from "./api.js";
import { byId, subscriberLink } from "./dom.js";

/**
 * The "Add subscriber" form: field errors from the API's problem beside each field, then the
 * operation followed from Pending to Stored (or why not).
 * @typedef {import("./subscribers.js").Shell} Shell
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./api.js").Problem} Problem
 */

const FIELDS = /** @type {const} */ (["email", "name", "last_name", "status"]);

/** @param {Shell} shell @param {{ onStored(): void }} hooks */
export function setupAddForm(shell, hooks) {
  const form = byId("add-form", HTMLFormElement);
  const button = byId("add-button", HTMLButtonElement);
  const result = byId("add-result", HTMLOutputElement);
  const formError = byId("form-error", HTMLParagraphElement);
  const input = (/** @type {string} */ id) => /** @type {HTMLInputElement | HTMLSelectElement} */ (document.getElementById(id));
  let run = 0;

  function clearErrors() {
    for (const f of FIELDS) {
      input(f).removeAttribute("aria-invalid");
      byId(`${f}-error`, HTMLParagraphElement).hidden = true;
    }
    formError.hidden = true;
  }

  /** @param {Problem} problem */
  function showFieldErrors(problem) {
    /** @type {HTMLElement | undefined} */
    let first;
    const loose = [];
    for (const { field, message } of problem.errors ?? []) {
      const known = FIELDS.find((f) => f === field);
      if (!known) {
        loose.push(`${field}: ${message}`);
        continue;
      }
      const control = input(known);
      control.setAttribute("aria-invalid", "true");
      const msg = byId(`${known}-error`, HTMLParagraphElement);
      msg.textContent = message;
      msg.hidden = false;
      first ??= control;
    }
    if (loose.length || !first) {
      formError.textContent = loose.length ? loose.join("; ") : (problem.detail ?? "The request has invalid fields.");
      formError.hidden = false;
    }
    (first ?? button).focus();
  }

  /** @param {string} text @param {"pending" | "ok" | "warn" | "error"} tone @param {Node[]} [extra] */
  function say(text, tone, extra = []) {
    result.className = `result ${tone}`;
    result.replaceChildren(text, ...extra);
  }

  /** Follows the operation until the consumer has decided; the write is queued, so this takes ~1 s. */
  async function follow(/** @type {string} */ opId, /** @type {number} */ mine) {
    let delay = 300;
    const deadline = Date.now() + 60_000;
    while (mine === run && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 3_000);
      const res = /** @type {import("./api.js").Result<{ data: Operation }>} */ (await request("GET", `/v1/operations/${opId}`));
      if (mine !== run) return;
      if (!res.ok) {
        if (res.status === 404 || res.status >= 500) continue;
        say(describeFailure(res.status, res.problem, res.retryAfter), "error");
        return;
      }
      const op = res.body.data;
      if (op.status === "succeeded" && op.subscriber_id) {
        say("Stored. ", "ok", [subscriberLink(op.subscriber_id, "View the subscriber")]);
        hooks.onStored();
        return;
      }
      if (op.status === "failed" && op.error?.code === "already_exists" && op.subscriber_id) {
        say("Already exists: a subscriber has this email. ", "warn", [subscriberLink(op.subscriber_id, "View the existing subscriber")]);
        return;
      }
      if (op.status === "failed") {
        say(`Not stored: ${op.error?.message ?? "the write failed."}`, "error");
        return;
      }
    }
    if (mine === run) say("Still pending: the write is queued and will be stored shortly. Refresh the list later.", "pending");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!shell.requireKey()) return;
    clearErrors();
    shell.clearAlert();
    const mine = ++run;
    const body = {
      email: input("email").value,
      name: input("name").value,
      last_name: input("last_name").value,
      status: input("status").value,
    };
    button.disabled = true;
    say("Sending…", "pending");
    const res = /** @type {import("./api.js").Result<{ data: Operation }>} */ (
      // A fresh Idempotency-Key per submission: a retried network request cannot create two operations.
      await request("POST", "/v1/subscribers", { body, headers: { "Idempotency-Key": crypto.randomUUID() } })
    );
    button.disabled = false;
    if (res.ok) {
      say(`Pending: queued as operation ${res.body.data.id.slice(0, 8)}… `, "pending");
      await follow(res.body.data.id, mine);
    } else if (res.status === 409 && typeof res.problem.existing_id === "string") {
      say("Already exists: a subscriber has this email. ", "warn", [
        subscriberLink(res.problem.existing_id, "View the existing subscriber"),
      ]);
    } else if (res.status === 422) {
      say("Not added: fix the marked fields.", "error");
      showFieldErrors(res.problem);
    } else {
      say("Not added.", "error");
      shell.fail(res.status, res.problem, res.retryAfter);
    }
  });
}
