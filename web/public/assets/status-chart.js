// @ts-check
// One chart of the status page: a uPlot canvas inside a <figure>, an accessible summary the canvas
// points to (aria-describedby), and the same numbers as a table in a <details>. A chart drawn again
// with the same series keeps its figure (and an open table) and only gets new data.
import { el } from "./dom.js";

/**
 * @typedef {import("uplot")} UPlot
 * @typedef {typeof import("uplot")} UPlotClass
 * @typedef {"line" | "points" | "bars" | "step"} SeriesStyle
 * @typedef {{ label: string, values: Array<number | null>, color: string, style?: SeriesStyle, value?: (v: number, i: number) => string }} ChartSeries
 * @typedef {{
 *   id: string,
 *   title: string,
 *   x: number[],
 *   xLabel: (x: number) => string,
 *   xHead?: string,
 *   categorical?: boolean,
 *   fmt: (v: number) => string,
 *   yTick?: (v: number) => string,
 *   yRange?: [number, number],
 *   ySplits?: number[],
 *   series: ChartSeries[],
 *   summary?: string,
 *   table?: { head: string[], rows: string[][] },
 * }} ChartSpec
 */

/** The global the vendored uPlot build defines (web/public/assets/vendor/uplot.min.js). */
const uPlot = /** @type {{ uPlot?: UPlotClass }} */ (/** @type {unknown} */ (globalThis)).uPlot;
const HEIGHT = 200;

/** @type {Map<string, { plot: UPlot, resize: ResizeObserver, key: string, figure: HTMLElement, summary: HTMLElement, table: HTMLTableElement }>} */
const drawn = new Map();

/** @param {string} name */
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

/**
 * Draws the specs into `host` in order, reusing figures drawn before under the same ids.
 * @param {HTMLElement} host
 * @param {ChartSpec[]} specs
 */
export function drawCharts(host, specs) {
  const keep = new Set(specs.map((s) => s.id));
  for (const [id, c] of drawn) {
    if (host.contains(c.figure) && !keep.has(id)) forget(id);
  }
  for (const spec of specs) host.append(drawChart(host, spec));
}

/** @param {string} id */
function forget(id) {
  const c = drawn.get(id);
  if (!c) return;
  c.resize.disconnect();
  c.plot.destroy();
  c.figure.remove();
  drawn.delete(id);
}

/**
 * @param {HTMLElement} host
 * @param {ChartSpec} spec
 */
function drawChart(host, spec) {
  const key = JSON.stringify([spec.categorical ?? false, spec.series.map((s) => [s.label, s.style, s.color])]);
  const data = /** @type {import("uplot").AlignedData} */ ([spec.x, ...spec.series.map((s) => s.values)]);
  let c = drawn.get(spec.id);
  if (c && c.key !== key) {
    forget(spec.id);
    c = undefined;
  }
  if (!c) {
    const caption = el("figcaption", { text: spec.title, attrs: { id: `${spec.id}-title` } });
    const plotHost = el("div", {
      className: "plot",
      attrs: { role: "img", "aria-labelledby": `${spec.id}-title`, "aria-describedby": `${spec.id}-summary` },
    });
    const summary = el("p", { className: "summary", attrs: { id: `${spec.id}-summary` } });
    const table = el("table", { className: "data" });
    const details = el("details", {}, [
      el("summary", { text: `Table: ${spec.title}` }),
      el("div", { className: "table-scroll", attrs: { role: "region", "aria-label": `${spec.title} (table)`, tabindex: "0" } }, [table]),
    ]);
    const figure = el("figure", { className: "chart", attrs: { id: `chart-${spec.id}`, "data-chart": spec.id } }, [
      caption,
      plotHost,
      summary,
      details,
    ]);
    // In place before uPlot measures its width.
    host.append(figure);
    if (!uPlot) throw new Error("uPlot did not load (/assets/vendor/uplot.min.js)");
    const plot = new uPlot(options(spec, Math.max(200, plotHost.clientWidth)), data, plotHost);
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, plotHost.clientWidth);
      if (Math.abs(width - plot.width) > 1) plot.setSize({ width, height: HEIGHT });
    });
    resize.observe(plotHost);
    c = { plot, resize, key, figure, summary, table };
    drawn.set(spec.id, c);
  } else {
    c.plot.setData(data);
  }
  c.summary.textContent = spec.summary ?? describe(spec);
  fillTable(c.table, spec);
  return c.figure;
}

/**
 * @param {ChartSpec} spec
 * @param {number} width
 * @returns {import("uplot").Options}
 */
function options(spec, width) {
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line"), width: 1 }, ticks: { stroke: cssVar("--line"), width: 1 } };
  const categories = spec.x.map(spec.xLabel);
  const lib = /** @type {UPlotClass} */ (uPlot);
  return {
    width,
    height: HEIGHT,
    scales: {
      x: spec.categorical ? { time: false, range: () => [-0.5, Math.max(0.5, spec.x.length - 0.5)] } : { time: true },
      y: { range: (_u, _min, max) => spec.yRange ?? [0, max && max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      spec.categorical ? { ...axis, splits: () => spec.x, values: (_u, splits) => splits.map((s) => categories[s] ?? "") } : { ...axis },
      {
        ...axis,
        // Wide enough for the longest tick label ("12,345 ms"), so none is cut off.
        size: (_u, values) => 18 + 8 * Math.max(3, ...(values ?? []).map((v) => v.length)),
        ...(spec.ySplits ? { splits: () => /** @type {number[]} */ (spec.ySplits) } : {}),
        values: (_u, splits) => splits.map((v) => (spec.yTick ?? spec.fmt)(v)),
      },
    ],
    series: [
      { label: spec.xHead ?? "Time", value: (_u, v) => (v == null ? "–" : spec.xLabel(v)) },
      ...spec.series.map((s) => seriesOptions(lib, s, spec.fmt)),
    ],
    legend: { show: true },
  };
}

/**
 * @param {UPlotClass} lib
 * @param {ChartSeries} s
 * @param {(v: number) => string} fmt
 * @returns {import("uplot").Series}
 */
function seriesOptions(lib, s, fmt) {
  /** @type {import("uplot").Series} */
  const base = {
    label: s.label,
    stroke: s.color,
    width: 2,
    value: (_u, v, _si, i) => (v == null ? "–" : s.value && i != null ? s.value(v, i) : fmt(v)),
  };
  switch (s.style) {
    case "points":
      return { ...base, paths: () => null, points: { show: true, size: 9, stroke: s.color, fill: s.color } };
    case "bars":
      return { ...base, fill: s.color, paths: lib.paths.bars?.({ size: [0.6, 48] }), points: { show: false } };
    case "step":
      return { ...base, paths: lib.paths.stepped?.({ align: 1 }) };
    default:
      return base;
  }
}

/**
 * "Accepted: latest 2.0/min, peak 5.0/min. Failed: no data." — what a sighted reader takes from the chart.
 * @param {ChartSpec} spec
 */
function describe(spec) {
  if (spec.series.length === 0) return `${spec.title}: no data in this window.`;
  const parts = spec.series.map((s) => {
    const seen = s.values.flatMap((v, i) => (v == null ? [] : [{ v, i }]));
    const last = seen.at(-1);
    if (!last) return `${s.label}: no data`;
    const peak = seen.reduce((a, b) => (b.v > a.v ? b : a));
    return `${s.label}: latest ${spec.fmt(last.v)} (${spec.xLabel(spec.x[last.i] ?? 0)}), peak ${spec.fmt(peak.v)}`;
  });
  return `${parts.join("; ")}.`;
}

/**
 * @param {HTMLTableElement} table
 * @param {ChartSpec} spec
 */
function fillTable(table, spec) {
  const head = spec.table?.head ?? [spec.xHead ?? "Time", ...spec.series.map((s) => s.label)];
  const rows =
    spec.table?.rows ??
    spec.x.flatMap((x, i) => {
      const values = spec.series.map((s) => s.values[i] ?? null);
      return values.every((v) => v == null) ? [] : [[spec.xLabel(x), ...values.map((v) => (v == null ? "–" : spec.fmt(v)))]];
    });
  const thead = el("thead", {}, [
    el(
      "tr",
      {},
      head.map((h) => el("th", { text: h, attrs: { scope: "col" } })),
    ),
  ]);
  const tbody = el("tbody");
  if (rows.length === 0)
    tbody.append(el("tr", {}, [el("td", { text: "No data in this window.", attrs: { colspan: String(head.length) } })]));
  for (const row of rows)
    tbody.append(
      el(
        "tr",
        {},
        row.map((cell, i) => (i === 0 ? el("th", { text: cell, attrs: { scope: "row" } }) : el("td", { text: cell }))),
      ),
    );
  table.replaceChildren(el("caption", { text: spec.title }), thead, tbody);
}
