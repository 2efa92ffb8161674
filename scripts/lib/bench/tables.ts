// The bench's two tables, as printed: every scenario's figures with its ratios (the median of the
// per-round ratios, their range in brackets), then every target with its figures, met or not; then
// the KV writes per key.

import { SCENARIOS } from "./scenarios.ts";
import type { BenchRun, IngestVerdict, Scored } from "./score.ts";
import { c1p50Of, isTarget, KV_WRITES_PER_KEY_MAX, kvVerdict, rateOf } from "./score.ts";

const ms = (v: number | null | undefined) => (v != null ? `${v} ms` : "");
/** A paired ratio with its spread: "0.62 × [0.58–0.66]". */
const ratioText = (x: Scored) =>
  x.ratio === null ? "" : `${x.ratio.toFixed(2)} ×${x.paired ? ` [${x.paired.min.toFixed(2)}–${x.paired.max.toFixed(2)}]` : ""}`;

function table<K extends string>(head: Record<K, string>, body: Array<Record<K, string>>): string {
  const cols = Object.keys(head) as K[];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...body.map((r) => r[c].length))])) as Record<K, number>;
  const line = (r: Record<K, string>) =>
    `| ${cols.map((c, i) => (i === 0 ? r[c].padEnd(width[c]) : r[c].padStart(width[c]))).join(" | ")} |`;
  return `${line(head)}\n|${cols.map((c) => "-".repeat(width[c] + 2)).join("|")}|\n${body.map(line).join("\n")}`;
}

export function printTables(run: BenchRun, scored: Scored[], ingest: IngestVerdict, connections: number): void {
  const { results, failures } = run;
  const rate = (id: string) => rateOf(run, id);
  const c1p50 = (id: string) => c1p50Of(run, id);
  const rows = SCENARIOS.flatMap((s) => {
    const m = results[s.id];
    if (s.id === "ingest" && m?.extra) {
      return [
        {
          scenario: s.label,
          rate: `${m.rate.toLocaleString("en-US")} ms wall`,
          p50: "",
          p99: "",
          c1p50: "",
          c1p99: "",
          ratio: `CPU ${(m.extra.ingest_cpu_ms ?? 0).toLocaleString("en-US")} ms, RSS +${m.extra.ingest_peak_mb} MB, heap cap ${ingest.heapCapMb} MB`,
        },
      ];
    }
    const row = {
      scenario: s.label,
      rate: m
        ? `${m.rate.toLocaleString("en-US")} ${m.unit}`
        : failures[s.id]
          ? "FAILED (see log)"
          : s.available === false
            ? "not yet available"
            : "not run",
      p50: ms(m?.p50_ms),
      p99: ms(m?.p99_ms),
      c1p50: ms(m?.c1?.p50_ms),
      c1p99: ms(m?.c1?.p99_ms),
      ratio: scored
        .filter((x) => x.scenario === s && x.ratio !== null)
        .map((x) => `${ratioText(x).replace(" ×", ` × ${x.versus}`)}`)
        .join("; "),
    };
    // A reference measured inside the scenario gets the row below it, as raw_insert does for the consumer.
    const ref = m?.reference;
    const refRow = ref && {
      ...row,
      scenario: ref.label,
      rate: `${ref.rate.toLocaleString("en-US")} ${ref.unit}`,
      p50: "",
      p99: "",
      c1p50: "",
      c1p99: "",
      ratio: "",
    };
    return refRow ? [row, refRow] : [row];
  });
  console.log(
    `\n${table({ scenario: "scenario", rate: `throughput (c${connections})`, p50: "p50", p99: "p99", c1p50: "c1 p50", c1p99: "c1 p99", ratio: "ratio" }, rows)}\n`,
  );

  // Every target with its figures, met or not.
  const targetRows = scored.filter(isTarget).map((x) => {
    const latency = x.target.metric === "c1_p50";
    return {
      target: `${x.scenario.id}${latency ? " c1 p50" : ""} vs ${x.versus.replace(" (c1 p50)", "")}`,
      measured: failures[x.scenario.id]
        ? "failed"
        : latency
          ? ms(c1p50(x.scenario.id)) || "not run"
          : rate(x.scenario.id) !== null
            ? `${rate(x.scenario.id)!.toLocaleString("en-US")} ${results[x.scenario.id]!.unit}`
            : "not run",
      ratio: ratioText(x),
      goal: x.target.min !== undefined ? `≥ ${x.target.min} ×` : `≤ ${x.target.max} ×`,
      result: x.pass === null ? "" : x.pass ? "PASS" : "FAIL",
    };
  });
  if (SCENARIOS.some((s) => s.id === "ingest") && ingest.pass !== null)
    targetRows.push({
      target: "ingest CPU and heap",
      measured: ingest.measurement?.extra
        ? `CPU ${(ingest.measurement.extra.ingest_cpu_ms ?? 0).toLocaleString("en-US")} ms, heap cap ${ingest.heapCapMb} MB`
        : "failed",
      ratio: "",
      goal: `CPU ≤ ${ingest.cpuLimitMs / 1000} s, heap ≤ 128 MB`,
      result: ingest.pass ? "PASS" : "FAIL",
    });
  const kv = kvVerdict(run);
  if (kv.pass !== null)
    targetRows.push({
      target: "KV writes to one key within 1 s",
      measured: `${kv.max} (in ${kv.by})`,
      ratio: "",
      goal: `≤ ${KV_WRITES_PER_KEY_MAX}`,
      result: kv.pass ? "PASS" : "FAIL",
    });
  console.log(
    `${table({ target: "target", measured: "measured", ratio: "ratio [range]", goal: "target", result: "result" }, targetRows)}\n`,
  );
  printKvWrites(run);
}

/** Per scenario: the app's KV writes, the most one key received within 1 s, and the keys that broke the limit. */
function printKvWrites(run: BenchRun): void {
  const rows = Object.entries(run.kvWrites)
    .filter(([, k]) => k.writes > 0)
    .map(([id, k]) => ({
      scenario: id,
      writes: k.writes.toLocaleString("en-US"),
      max: String(k.max_writes_1s),
      over: `${k.keys_over_1.toLocaleString("en-US")}${k.capped ? "+" : ""}`,
      hottest: Object.entries(k.by_shape)
        .sort((a, b) => b[1].max_writes_1s - a[1].max_writes_1s)
        .slice(0, 3)
        .map(([shape, x]) => `${shape} ${x.max_writes_1s}/s (${x.keys} key${x.keys === 1 ? "" : "s"})`)
        .join("; "),
    }));
  if (!rows.length) return;
  const head = {
    scenario: "app KV writes",
    writes: "puts + deletes",
    max: "most to one key in 1 s",
    over: "keys > 1 in 1 s",
    hottest: "hottest key shapes",
  };
  console.log(`${table(head, rows)}\n`);
}
