// @ts-check
import { request } from "./api.js";
import { byId, el, formatDateTime } from "./dom.js";
import { setupManage } from "./manage.js";

/**
 * "Look up by email or id": one subscriber in a panel, with the forms that change it (manage.js).
 * @typedef {import("./subscribers.js").Shell} Shell
 * @typedef {import("./api.js").Subscriber} Subscriber
 */

/** @param {Shell} shell @param {{ changed(): void }} hooks */
export function setupLookup(shell, hooks) {
  const form = byId("lookup-form", HTMLFormElement);
  const query = byId("lookup", HTMLInputElement);
  const panel = byId("lookup-result", HTMLDivElement);
  const body = byId("lookup-body", HTMLDivElement);
  const close = byId("lookup-close", HTMLButtonElement);
  const reload = byId("reload-button", HTMLButtonElement);
  // Every lookup, and each change's outcome, replaces what an older lookup still in flight would show.
  let seq = 0;
  /** @type {string | null} */
  let shownId = null;

  const manage = setupManage(shell, {
    render: (s) => render(s, true),
    gone(text) {
      shownId = null;
      manage.hide();
      body.replaceChildren(el("p", { text }));
      close.focus();
    },
    changed: hooks.changed,
  });

  /** @param {Subscriber} s @param {boolean} keepLine */
  function render(s, keepLine) {
    shownId = s.id;
    /** @type {Array<[string, string]>} */
    const facts = [
      ["Email", s.email],
      ["Name", s.name],
      ["Last name", s.last_name],
      ["Status", s.status],
      ...(s.unsubscribed_at ? [/** @type {[string, string]} */ (["Unsubscribed", formatDateTime(s.unsubscribed_at)])] : []),
      ["Version", String(s.version)],
      ["Created", formatDateTime(s.created_at)],
      ["Updated", formatDateTime(s.updated_at)],
      ["ID", s.id],
    ];
    body.replaceChildren(
      el("h3", { text: `${s.name} ${s.last_name}` }),
      el(
        "dl",
        {},
        facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
      ),
    );
    manage.show(s, keepLine);
  }

  /** @param {Node[]} children */
  function message(children) {
    shownId = null;
    manage.hide();
    manage.say("", "");
    reload.hidden = true;
    body.replaceChildren(...children);
  }

  /** @param {string} idOrEmail @param {{ focus?: boolean, note?: string }} [opts] */
  async function lookup(idOrEmail, opts = {}) {
    const q = idOrEmail.trim();
    if (!q || !shell.requireKey()) return;
    const mine = ++seq;
    // An address goes in the body of POST …/lookup, never in a URL: URLs end up in access logs,
    // traces and browser history (docs/api.md, the `POST /v1/subscribers/lookup` row).
    const res = /** @type {import("./api.js").Result<{ data: Subscriber }>} */ (
      q.includes("@")
        ? await request("POST", "/v1/subscribers/lookup", { body: { email: q } })
        : await request("GET", `/v1/subscribers/${encodeURIComponent(q)}`)
    );
    if (mine !== seq) return;
    if (res.ok) {
      render(res.body.data, false);
      if (opts.note) manage.say(opts.note.replace("{version}", String(res.body.data.version)), "ok");
    } else if (res.status === 404) {
      message([el("p", { text: `No subscriber has the email or id “${q}”.` })]);
    } else if (res.status === 422) {
      message([el("p", { text: "Enter an email address or a subscriber id (UUID)." })]);
    } else {
      shell.fail(res.status, res.problem, res.retryAfter);
      return;
    }
    panel.hidden = false;
    if (opts.focus !== false) panel.focus();
  }

  close.addEventListener("click", () => {
    seq++;
    manage.hide();
    panel.hidden = true;
    if (location.hash.startsWith("#subscriber/")) history.replaceState(null, "", location.pathname);
    query.focus();
  });

  reload.addEventListener("click", () => {
    if (!shownId) return;
    const id = shownId;
    reload.hidden = true;
    void lookup(id, { focus: false, note: "Reloaded: this is version {version}. Make your change again." }).then(() => {
      if (document.activeElement === reload || document.activeElement === document.body) byId("edit-name", HTMLInputElement).focus();
    });
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void lookup(query.value);
  });

  // "View the subscriber" links carry the id in the fragment (never the key), so they work with Back.
  function fromHash() {
    const m = /^#subscriber\/(.+)$/.exec(location.hash);
    if (!m?.[1]) return;
    query.value = decodeURIComponent(m[1]);
    void lookup(query.value);
  }
  window.addEventListener("hashchange", fromHash);
  return { fromHash };
}
