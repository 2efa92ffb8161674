// @ts-check
import { apiKey, describeFailure } from "./api.js";
import { byId } from "./dom.js";
import { setupLookup } from "./lookup.js";
import { setupPlans } from "./plans.js";
import { setupAddForm } from "./subscriber-form.js";
import { setupList } from "./subscribers.js";

const keyForm = byId("key-form", HTMLFormElement);
const keyInput = byId("api-key", HTMLInputElement);
const keyStatus = byId("key-status", HTMLParagraphElement);
const forget = byId("forget-key", HTMLButtonElement);
const alertBox = byId("alert", HTMLDivElement);

/** @type {import("./subscribers.js").Shell} */
const shell = {
  alert(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  },
  fail(status, problem, retryAfter) {
    shell.alert(describeFailure(status, problem, retryAfter));
    if (status === 401) keyStatus.textContent = "The API rejected this key: enter another one.";
  },
  clearAlert() {
    alertBox.hidden = true;
    alertBox.textContent = "";
  },
  requireKey() {
    if (apiKey.get()) return true;
    shell.alert("Enter an API key first.");
    keyInput.focus();
    return false;
  },
};

const list = setupList(shell);
setupAddForm(shell, { onStored: () => void list.refreshIfFirstPage() });
const lookup = setupLookup(shell, { changed: () => void list.refresh() });
setupPlans();

function showKeyState() {
  const saved = apiKey.get() !== "";
  keyStatus.textContent = saved ? "A key is set for this tab (sessionStorage only)." : "Kept only in this tab (sessionStorage).";
  keyInput.placeholder = saved ? "•••••••• (set)" : "sk_…";
  forget.hidden = !saved;
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    keyInput.focus();
    return;
  }
  apiKey.set(key);
  // Clear the field so the key is not left visible (or readable) in the page.
  keyInput.value = "";
  showKeyState();
  shell.clearAlert();
  void list.reset();
});

forget.addEventListener("click", () => {
  apiKey.clear();
  showKeyState();
  keyInput.focus();
});

showKeyState();
if (apiKey.get()) {
  void list.reset();
  lookup.fromHash();
}
