// @ts-check
// The operator's status page (/status): the admin key (the same sessionStorage entry as the subscriber
// page), a window control, GET /v1/admin/status drawn as charts every 30 s, and dead-letter replay.
import { apiKey, describeFailure, request } from "./api.js";
import { byId } from "./dom.js";
import { drawCharts } from "./status-chart.js";
import { duration, size } from "./status-format.js";
import { planCharts, requestCharts, subscriberCharts, webhookCharts, writesCharts } from "./status-sections.js";

/** @typedef {import("./status-sections.js").Status} Status */

const REFRESH_MS = 30_000;

const keyForm = byId("key-form", HTMLFormElement);
const keyInput = byId("api-key", HTMLInputElement);
const keyStatus = byId("key-status", HTMLParagraphElement);
const forget = byId("forget-key", HTMLButtonElement);
const alertBox = byId("alert", HTMLDivElement);
const windowControl = byId("window", HTMLFieldSetElement);
const refreshButton = byId("refresh", HTMLButtonElement);
const updated = byId("updated", HTMLParagraphElement);
const replayButton = byId("replay", HTMLButtonElement);
const replayResult = byId("replay-result", HTMLOutputElement);

/** @param {string} message */
function showAlert(message) {
  alertBox.textContent = message;
  alertBox.hidden = false;
}
function clearAlert() {
  alertBox.hidden = true;
  alertBox.textContent = "";
}

/** @returns {"hour" | "day" | "week"} */
function chosenWindow() {
  const checked = windowControl.querySelector("input:checked");
  const v = checked instanceof HTMLInputElement ? checked.value : "hour";
  return v === "day" || v === "week" ? v : "hour";
}

/** @param {string} id @param {string} text */
const setText = (id, text) => {
  byId(id, HTMLElement).textContent = text;
};

/** @param {Status} s */
function render(s) {
  setText("dead-letters", String(s.writes.dead_letters_waiting));
  const since = s.plans.seconds_since_last_good_sync;
  setText("last-good-sync", since == null ? "no good sync yet" : duration(since));
  setText("breaker-now", s.plans.breaker_state.replace("_", " "));
  const ix = s.plans.search_index;
  setText(
    "search-index",
    ix.generation == null
      ? "not built"
      : `generation ${ix.generation} · ${ix.plans ?? "?"} plans · ${ix.bytes == null ? "size unknown" : size(ix.bytes)}`,
  );
  setText("endpoints-disabled", `${s.webhooks.endpoints_disabled} of ${s.webhooks.endpoints_total}`);
  setText("deliveries-pending", String(s.webhooks.pending));
  drawCharts(byId("writes-charts", HTMLDivElement), writesCharts(s));
  drawCharts(byId("requests-charts", HTMLDivElement), requestCharts(s));
  drawCharts(byId("plans-charts", HTMLDivElement), planCharts(s));
  drawCharts(byId("subscribers-charts", HTMLDivElement), subscriberCharts(s));
  drawCharts(byId("webhooks-charts", HTMLDivElement), webhookCharts(s));
  document.body.dataset.loaded = s.generated_at;
}

let loading = false;

async function load() {
  if (!apiKey.get()) {
    showAlert("Enter an admin API key to see the status.");
    return;
  }
  if (loading) return;
  loading = true;
  try {
    /** @type {import("./api.js").Result<{ data: Status }>} */
    const res = await request("GET", `/v1/admin/status?window=${chosenWindow()}`);
    if (!res.ok) {
      showAlert(describeFailure(res.status, res.problem, res.retryAfter));
      if (res.status === 401 || res.status === 403) keyStatus.textContent = "This key cannot read the status: enter an admin key.";
      return;
    }
    clearAlert();
    const status = res.body.data;
    render(status);
    const at = new Date(status.generated_at).toLocaleTimeString();
    updated.textContent = `Updated ${at}; refreshes every 30 s while this tab is visible.`;
  } finally {
    loading = false;
  }
}

async function replay() {
  if (!apiKey.get()) return showAlert("Enter an admin API key first.");
  replayResult.textContent = "Replaying…";
  /** @type {import("./api.js").Result<{ data: { replayed: number[], skipped: Array<{ id: number, reason: string }> } }>} */
  const res = await request("POST", "/v1/admin/dead-letters/replay", { body: {} });
  if (!res.ok) {
    replayResult.textContent = describeFailure(res.status, res.problem, res.retryAfter);
    return;
  }
  const { replayed, skipped } = res.body.data;
  replayResult.textContent = `Replayed ${replayed.length}${skipped.length ? `, skipped ${skipped.length}` : ""}.`;
  await load();
}

function showKeyState() {
  const saved = apiKey.get() !== "";
  keyStatus.textContent = saved ? "A key is set for this tab (sessionStorage only)." : "Kept only in this tab (sessionStorage).";
  keyInput.placeholder = saved ? "•••••••• (set)" : "sk_…";
  forget.hidden = !saved;
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return keyInput.focus();
  apiKey.set(key);
  // Clear the field so the key is not left visible (or readable) in the page.
  keyInput.value = "";
  showKeyState();
  void load();
});
forget.addEventListener("click", () => {
  apiKey.clear();
  showKeyState();
  keyInput.focus();
});
windowControl.addEventListener("change", () => void load());
refreshButton.addEventListener("click", () => void load());
replayButton.addEventListener("click", () => void replay());
// Refresh on a timer, but not for a tab nobody looks at; catch up when it is shown again.
setInterval(() => {
  if (!document.hidden && apiKey.get()) void load();
}, REFRESH_MS);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && apiKey.get()) void load();
});

showKeyState();
if (apiKey.get()) void load();
