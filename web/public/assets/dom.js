// @ts-check
// Small DOM helpers. Text is always set with textContent, never innerHTML: API data is untrusted.

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...args: never[]) => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return node;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{ text?: string, className?: string, attrs?: Record<string, string> }} [opts]
 * @param {Array<Node | string>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag);
  if (opts.text !== undefined) node.textContent = opts.text;
  if (opts.className) node.className = opts.className;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** A link that opens a subscriber in the lookup panel (handled by the hashchange listener). */
export function subscriberLink(/** @type {string} */ id, /** @type {string} */ text) {
  return el("a", { text, attrs: { href: `#subscriber/${encodeURIComponent(id)}` } });
}

/** @param {string} iso */
export function formatDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Disabling the focused button drops focus to <body>; move it somewhere useful first.
 * @param {HTMLButtonElement} button
 * @param {boolean} disabled
 * @param {HTMLElement} [fallback]
 */
export function setDisabled(button, disabled, fallback) {
  if (disabled && document.activeElement === button && fallback && !(fallback instanceof HTMLButtonElement && fallback.disabled))
    fallback.focus();
  button.disabled = disabled;
}
