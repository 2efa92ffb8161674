// @ts-check
import { request } from "./api.js";
import { byId, el, formatDateTime, setDisabled, subscriberLink } from "./dom.js";

/**
 * @typedef {import("./api.js").Subscriber} Subscriber
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./api.js").SubscriberPage} SubscriberPage
 * @typedef {import("./api.js").Problem} Problem
 * @typedef {{ alert(message: string): void, fail(status: number, problem: Problem, retryAfter: number | null): void, clearAlert(): void, requireKey(): boolean }} Shell
 */

const PAGE_SIZE = 25;

/** @param {Shell} shell */
export function setupList(shell) {
  const rows = byId("subscriber-rows", HTMLTableSectionElement);
  const empty = byId("list-empty", HTMLParagraphElement);
  const prev = byId("prev-page", HTMLButtonElement);
  const next = byId("next-page", HTMLButtonElement);
  const label = byId("page-label", HTMLSpanElement);
  const filter = byId("filter-status", HTMLSelectElement);
  const table = byId("subscriber-table", HTMLTableElement);

  // Keyset cursors only go forward, so Previous walks back through the cursors already seen.
  /** @type {Array<string | null>} */
  let cursors = [null];
  let index = 0;
  /** @type {string | null} */
  let nextCursor = null;
  let loading = 0;

  /** @param {Subscriber} s */
  const row = (s) =>
    el("tr", {}, [
      el("td", { attrs: { "data-label": "Email" } }, [subscriberLink(s.id, s.email)]),
      el("td", { text: s.name, attrs: { "data-label": "Name" } }),
      el("td", { text: s.last_name, attrs: { "data-label": "Last name" } }),
      el("td", { attrs: { "data-label": "Status" } }, [el("span", { text: s.status, className: `badge ${s.status}` })]),
      el("td", { text: formatDateTime(s.created_at), className: "col-created", attrs: { "data-label": "Created" } }),
    ]);

  async function load() {
    if (!shell.requireKey()) return;
    const mine = ++loading;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filter.value) params.set("status", filter.value);
    const cursor = cursors[index];
    if (cursor) params.set("cursor", cursor);
    table.setAttribute("aria-busy", "true");
    const res = /** @type {import("./api.js").Result<SubscriberPage>} */ (await request("GET", `/v1/subscribers?${params}`));
    if (mine !== loading) return;
    table.removeAttribute("aria-busy");
    if (!res.ok) {
      shell.fail(res.status, res.problem, res.retryAfter);
      return;
    }
    shell.clearAlert();
    rows.replaceChildren(...res.body.data.map(row));
    empty.hidden = res.body.data.length > 0;
    nextCursor = res.body.meta.next_cursor;
    label.textContent = `Page ${index + 1}`;
    setDisabled(prev, index === 0, next);
    setDisabled(next, !nextCursor, prev);
  }

  function reset() {
    cursors = [null];
    index = 0;
    return load();
  }

  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors = [...cursors.slice(0, index + 1), nextCursor];
    index++;
    void load();
  });
  prev.addEventListener("click", () => {
    if (index === 0) return;
    index--;
    void load();
  });
  filter.addEventListener("change", () => void reset());

  return {
    reset,
    /** New subscribers appear first, so only the first page needs a refresh. */
    refreshIfFirstPage: () => (index === 0 ? load() : undefined),
  };
}

/** @param {Shell} shell */
export function setupLookup(shell) {
  const form = byId("lookup-form", HTMLFormElement);
  const query = byId("lookup", HTMLInputElement);
  const panel = byId("lookup-result", HTMLDivElement);

  /** @param {Node[]} children */
  function show(children) {
    const close = el("button", { text: "Close", className: "secondary", attrs: { type: "button" } });
    close.addEventListener("click", () => {
      panel.hidden = true;
      if (location.hash.startsWith("#subscriber/")) history.replaceState(null, "", location.pathname);
      query.focus();
    });
    panel.replaceChildren(...children, close);
    panel.hidden = false;
    panel.focus();
  }

  /** @param {string} idOrEmail */
  async function lookup(idOrEmail) {
    const q = idOrEmail.trim();
    if (!q || !shell.requireKey()) return;
    const res = /** @type {import("./api.js").Result<{ data: Subscriber }>} */ (
      await request("GET", `/v1/subscribers/${encodeURIComponent(q)}`)
    );
    if (res.ok) {
      const s = res.body.data;
      /** @type {Array<[string, string]>} */
      const facts = [
        ["Email", s.email],
        ["Name", s.name],
        ["Last name", s.last_name],
        ["Status", s.status],
        ["Created", formatDateTime(s.created_at)],
        ["ID", s.id],
      ];
      show([
        el("h3", { text: `${s.name} ${s.last_name}` }),
        el(
          "dl",
          {},
          facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
        ),
      ]);
    } else if (res.status === 404) {
      show([el("p", { text: `No subscriber has the email or id “${q}”.` })]);
    } else if (res.status === 422) {
      show([el("p", { text: "Enter an email address or a subscriber id (UUID)." })]);
    } else {
      shell.fail(res.status, res.problem, res.retryAfter);
    }
  }

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
