// @ts-check
import { request } from "./api.js";
import { byId, el } from "./dom.js";

/**
 * @typedef {{ id: string, title: string, start_date: string, start_time: string, end_date: string, end_time: string, min_price: number, max_price: number }} EventSummary
 * @typedef {{ data: { events: EventSummary[] } | null, error: { code: string, message: string } | null }} SearchBody
 */

/** datetime-local gives "YYYY-MM-DDTHH:MM[:SS]" with no zone; plan times are UTC, so say so. */
function toUtcIso(/** @type {string} */ local) {
  return local.length === 16 ? `${local}:00Z` : `${local}Z`;
}

const price = (/** @type {number} */ n) => n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function setupPlans() {
  const form = byId("plans-form", HTMLFormElement);
  const from = byId("plans-from", HTMLInputElement);
  const to = byId("plans-to", HTMLInputElement);
  const status = byId("plans-status", HTMLParagraphElement);
  const wrap = byId("plans-wrap", HTMLDivElement);
  const rows = byId("plans-rows", HTMLTableSectionElement);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!from.value || !to.value) {
      status.textContent = "Give both a start and an end.";
      (from.value ? to : from).focus();
      return;
    }
    status.textContent = "Searching…";
    const params = new URLSearchParams({ starts_at: toUtcIso(from.value), ends_at: toUtcIso(to.value) });
    // /search is the public Fever Providers contract: no key, and errors are {error:{code,message}}.
    const res = /** @type {import("./api.js").Result<SearchBody>} */ (await request("GET", `/search?${params}`, { auth: false }));
    if (!res.ok) {
      const body = /** @type {Partial<SearchBody>} */ (/** @type {unknown} */ (res.problem));
      status.textContent =
        res.status === 404
          ? "Plan search is not available on this server."
          : `Search failed (${res.status}): ${body.error?.message ?? res.problem.detail ?? "try again"}`;
      wrap.hidden = true;
      return;
    }
    const events = res.body.data?.events ?? [];
    rows.replaceChildren(
      ...events.map((e) =>
        el("tr", {}, [
          el("td", { text: e.title }),
          el("td", { text: `${e.start_date} ${e.start_time}` }),
          el("td", { text: `${e.end_date} ${e.end_time}` }),
          el("td", { text: e.min_price === e.max_price ? price(e.min_price) : `${price(e.min_price)} – ${price(e.max_price)}` }),
        ]),
      ),
    );
    wrap.hidden = events.length === 0;
    status.textContent = events.length
      ? `${events.length} plan${events.length === 1 ? "" : "s"} in that range (UTC).`
      : "No plans in that range.";
  });
}
