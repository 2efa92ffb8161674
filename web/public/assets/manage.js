// @ts-check
import { describeFailure } from "./api.js";
import { confirmDelete, confirmErase } from "./confirm.js";
import { byId, el } from "./dom.js";
import { readAfterChange, submitChange } from "./operations.js";

/**
 * The looked-up subscriber's changes: edit, unsubscribe, delete and forget. Each one carries the
 * version the user saw (If-Match) where the API takes it, and its outcome is said in one live region.
 * @typedef {import("./subscribers.js").Shell} Shell
 * @typedef {import("./api.js").Subscriber} Subscriber
 * @typedef {import("./api.js").SubscriberStatus} SubscriberStatus
 * @typedef {import("./operations.js").Outcome} Outcome
 * @typedef {{ render(s: Subscriber): void, gone(text: string): void, changed(): void }} ManageHooks
 */

/** Mirrors STATUS_TRANSITIONS in src/subscribers/schema.ts; test/browser/lifecycle.test.ts checks that they agree. */
const TRANSITIONS = /** @type {Record<SubscriberStatus, SubscriberStatus[]>} */ ({
  unconfirmed: ["active", "unsubscribed", "bounced", "junk"],
  active: ["unsubscribed", "bounced", "junk"],
  unsubscribed: ["active"],
  bounced: ["unsubscribed"],
  junk: ["unsubscribed"],
});

const FIELDS = /** @type {const} */ (["name", "last_name", "status"]);

/** @param {Shell} shell @param {ManageHooks} hooks */
export function setupManage(shell, hooks) {
  const section = byId("manage", HTMLDivElement);
  const form = byId("edit-form", HTMLFormElement);
  const name = byId("edit-name", HTMLInputElement);
  const lastName = byId("edit-last_name", HTMLInputElement);
  const status = byId("edit-status", HTMLSelectElement);
  const save = byId("save-button", HTMLButtonElement);
  const unsubscribe = byId("unsubscribe-button", HTMLButtonElement);
  const remove = byId("delete-button", HTMLButtonElement);
  const erase = byId("erase-button", HTMLButtonElement);
  const line = byId("change-status", HTMLParagraphElement);
  const reload = byId("reload-button", HTMLButtonElement);
  const formError = byId("edit-form-error", HTMLParagraphElement);
  const controls = { name, last_name: lastName, status };

  /** @type {Subscriber | null} */
  let current = null;
  let busy = false;
  // Bumped whenever the panel shows another state: an outcome that arrives for an older one is dropped.
  let run = 0;

  /** @param {string} text @param {"pending" | "ok" | "warn" | "error" | ""} tone */
  function say(text, tone) {
    line.className = `result ${tone}`;
    line.textContent = text;
  }

  /** aria-disabled, not disabled: a busy button keeps keyboard focus instead of dropping it to <body>. */
  function setBusy(/** @type {boolean} */ on) {
    busy = on;
    for (const b of [save, unsubscribe, remove, erase]) b.setAttribute("aria-disabled", String(on));
    form.setAttribute("aria-busy", String(on));
  }

  function clearErrors() {
    for (const f of FIELDS) {
      controls[f].removeAttribute("aria-invalid");
      byId(`edit-${f}-error`, HTMLParagraphElement).hidden = true;
    }
    formError.hidden = true;
  }

  /** @param {import("./api.js").Problem} problem */
  function showFieldErrors(problem) {
    const loose = [];
    /** @type {HTMLElement | undefined} */
    let first;
    for (const { field, message } of problem.errors ?? []) {
      const known = FIELDS.find((f) => f === field);
      if (!known) {
        loose.push(`${field}: ${message}`);
        continue;
      }
      controls[known].setAttribute("aria-invalid", "true");
      const msg = byId(`edit-${known}-error`, HTMLParagraphElement);
      msg.textContent = message;
      msg.hidden = false;
      first ??= controls[known];
    }
    if (loose.length) {
      formError.textContent = loose.join("; ");
      formError.hidden = false;
    }
    first?.focus();
  }

  /** Fills the form from what the API said last; `keepLine` leaves the live region's message. */
  function show(/** @type {Subscriber} */ s, keepLine = false) {
    run++;
    setBusy(false);
    current = s;
    name.value = s.name;
    lastName.value = s.last_name;
    const choices = [s.status, ...TRANSITIONS[s.status]];
    status.replaceChildren(...choices.map((v) => el("option", { text: v === s.status ? `${v} (current)` : v, attrs: { value: v } })));
    status.value = s.status;
    if (s.status === "unsubscribed" && document.activeElement === unsubscribe) save.focus();
    unsubscribe.hidden = s.status === "unsubscribed";
    section.hidden = false;
    clearErrors();
    if (!keepLine) {
      say("", "");
      reload.hidden = true;
    }
  }

  function hide() {
    run++;
    setBusy(false);
    current = null;
    section.hidden = true;
  }

  /**
   * @param {string} label what the user asked for, to begin each message with
   * @param {"PATCH" | "DELETE" | "POST"} method
   * @param {string} suffix
   * @param {{ body?: unknown, ifMatch?: number }} opts
   */
  async function change(label, method, suffix, opts) {
    if (!current || busy || !shell.requireKey()) return;
    const s = current;
    const mine = ++run;
    setBusy(true);
    clearErrors();
    reload.hidden = true;
    say(`${label}: pending, waiting for the change to be applied…`, "pending");
    const outcome = await submitChange(method, `/v1/subscribers/${encodeURIComponent(s.id)}${suffix}`, opts, {
      onPending: (op) => {
        if (mine === run) say(`${label}: pending (operation ${op.id.slice(0, 8)}…), checking until it is applied…`, "pending");
      },
      isCurrent: () => mine === run,
    });
    if (mine !== run) return;
    await report(label, outcome, s, mine);
    if (mine === run) setBusy(false);
  }

  /** @param {string} label @param {Outcome} outcome @param {Subscriber} s @param {number} mine */
  async function report(label, outcome, s, mine) {
    switch (outcome.state) {
      case "applied": {
        hooks.changed();
        const res = outcome.subscriber ? null : await readAfterChange(s.id, outcome.version);
        if (mine !== run) return;
        const fresh = outcome.subscriber ?? (res?.ok ? res.body.data : null);
        if (fresh) {
          hooks.render(fresh);
          say(`${label}: applied. Now at version ${fresh.version}.`, "ok");
        } else if (res?.status === 404) {
          hooks.gone("This subscriber no longer exists: a later change removed it.");
          say(`${label}: applied, but a later change removed the subscriber.`, "warn");
        } else if (res && !res.ok) {
          say(`${label}: applied, but reading it again failed. ${describeFailure(res.status, res.problem, res.retryAfter)}`, "warn");
          reload.hidden = false;
        }
        return;
      }
      case "gone":
        hooks.gone(label === "Delete" ? `Deleted ${s.email}.` : `Erased ${s.email}: nothing about this person is kept.`);
        say(`${label}: done.`, "ok");
        hooks.changed();
        return;
      case "pending":
        say(`${label}: still pending after a minute. The change is queued; look the subscriber up again later.`, "pending");
        return;
      case "abandoned":
        return;
      case "refused":
        refused(label, outcome, s);
    }
  }

  /** @param {string} label @param {Extract<Outcome, { state: "refused" }>} r @param {Subscriber} s */
  function refused(label, r, s) {
    const not = `${label}: not applied.`;
    if (r.status === 412) {
      const now = typeof r.problem.current_version === "number" ? `, it is now at version ${r.problem.current_version}` : "";
      say(`${not} This subscriber changed since you loaded it (you saw version ${s.version}${now}) — reload it and try again.`, "error");
      reload.hidden = false;
    } else if (r.status === 409) {
      say(`${not} ${r.message} Reload to see the current state.`, "warn");
      reload.hidden = false;
    } else if (r.status === 404) {
      say(`${not} This subscriber no longer exists.`, "error");
    } else if (r.status === 422) {
      say(`${not} ${r.message}`.trim(), "error");
      showFieldErrors(r.problem);
    } else {
      say(`${not} ${describeFailure(r.status, r.problem, r.retryAfter)}`, "error");
      if (r.status === 401) shell.fail(r.status, r.problem, r.retryAfter);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!current || busy) return;
    /** @type {Record<string, string>} */
    const patch = {};
    if (name.value !== current.name) patch.name = name.value;
    if (lastName.value !== current.last_name) patch.last_name = lastName.value;
    if (status.value !== current.status) patch.status = status.value;
    if (Object.keys(patch).length === 0) {
      say("Nothing to save: change a field or pick another status first.", "warn");
      return;
    }
    void change("Save", "PATCH", "", { body: patch, ifMatch: current.version });
  });

  unsubscribe.addEventListener("click", () => {
    if (current) void change("Unsubscribe", "PATCH", "", { body: { status: "unsubscribed" }, ifMatch: current.version });
  });

  remove.addEventListener("click", async () => {
    if (!current || busy) return;
    const s = current;
    if ((await confirmDelete(s.email)) && current === s) void change("Delete", "DELETE", "", { ifMatch: s.version });
  });

  erase.addEventListener("click", async () => {
    if (!current || busy) return;
    const s = current;
    if ((await confirmErase(s.email)) && current === s) void change("Forget", "POST", "/forget", {});
  });

  return { show, hide, say };
}
