// @ts-check
import { request } from "./api.js";
import { byId, el, formatDateTime, setDisabled, subscriberLink } from "./dom.js";

/**
 * @typedef {import("./api.js").Subscriber} Subscriber
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
    /** A change or removal can touch any page: reload the one on screen. */
    refresh: load,
  };
}
