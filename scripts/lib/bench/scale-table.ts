// The scale bench's table: every path's p50 at each size, its ratio to the smallest and the verdict,
// and the largest value in the edge cache, laid out as Markdown.
import type { ScaleSize, SeedReport } from "./scale-seed.ts";

/** The targets: at the largest size, every latency and CPU row within 1.5 × the smallest; the largest KV value ≤ 5 MiB. */
export const MAX_RATIO = 1.5;
export const MAX_KV_BYTES = 5 * 1024 * 1024;

export interface PathResult {
  p50_ms: number;
  p90_ms: number;
  samples: number;
  /** Cache outcomes the app reported (Server-Timing), and what the path verified. */
  checks: Record<string, unknown>;
}

export type Cell = PathResult | { error: string };

export interface SizeResult {
  size: ScaleSize;
  seed: SeedReport;
  seed_wall_ms: number;
  paths: Record<string, Cell>;
  kv: { bytes: number; key: string; keys: number } | { error: string };
}

/** Row order of the table; any other measured path follows. */
const ORDER = [
  "GET /v1/subscribers/{id} miss",
  "list page 1",
  "list page 10,000 deep",
  "list ?status=unsubscribed",
  "list ?status=bounced",
  "list ?email=",
  "list ?created_after=2026-06-01",
  "list ?created_before=2020-01-01",
  "list ?updated_since=2026-06-01",
  "list ?sort=updated_at",
  "list ?sort=updated_at&status=active",
  "GET /v1/stats (uncached)",
  "/search warm",
  "/search cold (new isolate)",
  "sync CPU, unchanged document",
  "sync CPU, 1 % changed",
  "sync wall, unchanged document",
  "sync wall, 1 % changed",
  "consumer batch of 100 creates",
];

const mib = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;

export function scaleTable(results: SizeResult[]): { text: string; failed: string[] } {
  const first = results[0]!;
  const last = results.at(-1)!;
  const names = [...new Set([...ORDER, ...results.flatMap((r) => Object.keys(r.paths))])].filter((n) => results.some((r) => n in r.paths));
  const failed: string[] = [];
  const cell = (c: Cell | undefined) => (c === undefined ? "—" : "error" in c ? "FAILED" : `${c.p50_ms} ms`);
  const rows = names.map((name) => {
    const a = first.paths[name];
    const b = last.paths[name];
    const ratio = a && b && !("error" in a) && !("error" in b) && a.p50_ms > 0 ? b.p50_ms / a.p50_ms : null;
    const pass = results.length > 1 && ratio !== null ? ratio <= MAX_RATIO : null;
    if (pass === false || (b && "error" in b)) failed.push(name);
    return [
      name,
      ...results.map((r) => cell(r.paths[name])),
      ratio === null ? "" : `${ratio.toFixed(2)} ×`,
      pass === null ? (b && "error" in b ? "FAIL" : "") : pass ? "PASS" : "FAIL",
    ];
  });
  const kvCell = (r: SizeResult) => ("error" in r.kv ? "FAILED" : mib(r.kv.bytes));
  const kvLast = "error" in last.kv ? null : last.kv.bytes;
  const kvFirst = "error" in first.kv ? null : first.kv.bytes;
  // What the last sync said about the index it published (its shape is the sync report's, whatever it becomes).
  const indexOf = (r: SizeResult) => {
    const c = r.paths["sync CPU, 1 % changed"];
    return (c && !("error" in c) ? c.checks.index : null) as { plans?: number; bytes?: number; stored?: boolean } | null;
  };
  // A value the app tried to write and the KV refused is not a value within the limit.
  const kvPass = kvLast !== null && kvLast <= MAX_KV_BYTES && indexOf(last)?.stored !== false;
  if (!kvPass) failed.push("largest KV value");
  rows.push([
    "largest KV value",
    ...results.map(kvCell),
    kvLast !== null && kvFirst ? `${(kvLast / kvFirst).toFixed(2)} ×` : "",
    kvPass ? "PASS" : "FAIL",
  ]);
  rows.push([
    "search index (sync report)",
    ...results.map((r) => {
      const i = indexOf(r);
      if (!i) return "—";
      if (typeof i.plans !== "number" || typeof i.bytes !== "number") return JSON.stringify(i).slice(0, 60);
      return `${i.plans.toLocaleString("en-US")} plans, ${mib(i.bytes)}${i.stored === false ? ", NOT stored" : ""}`;
    }),
    "",
    "",
  ]);
  const head = [
    "path (p50)",
    ...results.map((r) => `${abbreviate(r.size.subscribers)} subs / ${abbreviate(r.size.plans)} plans`),
    "× smallest",
    `≤ ${MAX_RATIO} ×`,
  ];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(" | ")} |`;
  // The separator as Biome formats Markdown tables, so the table pastes into docs/benchmarks.md as it is.
  const text = [line(head), `| ${width.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
  return { text, failed };
}

const abbreviate = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));
