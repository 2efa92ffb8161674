// @ts-check
// How the status page writes numbers, times and durations (the browser's locale).

export const num = (/** @type {number} */ v, digits = 1) => v.toLocaleString(undefined, { maximumFractionDigits: digits });
export const perMinute = (/** @type {number} */ v) => `${num(v)}/min`;
export const percent = (/** @type {number} */ v) => `${num(v * 100)} %`;
export const ms = (/** @type {number} */ v) => `${num(v, 0)} ms`;
export const count = (/** @type {number} */ v) => num(v, 0);
export const seconds = (/** @type {number} */ v) => (v < 1 ? `${num(v * 1000, 0)} ms` : `${num(v, 1)} s`);

/** @param {"hour" | "day" | "week"} window */
export function timeLabel(window) {
  /** @type {Intl.DateTimeFormatOptions} */
  const opts =
    window === "hour" ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return (/** @type {number} */ t) => new Date(t * 1000).toLocaleString(undefined, opts);
}
export const dayLabel = (/** @type {number} */ t) => new Date(t * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric" });

/** "3 min 12 s", "2 h 5 min", "1 d 4 h": how long ago, for the headline figures. */
export function duration(/** @type {number} */ total) {
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${total % 60} s` : `${total} s`;
}

/** @param {number} bytes */
export const size = (bytes) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1_048_576 ? `${num(bytes / 1024)} KiB` : `${num(bytes / 1_048_576)} MiB`;
