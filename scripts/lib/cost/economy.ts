// The KV economy table of docs/operations.md: billable units per operation before the bill's levers
// and now, both from the meter (docs/cost/before.json and docs/cost/measured.json, written by
// npm run cost). Kept between markers and checked by scripts/lib/cost/cost.test.ts.
import type { Measurement, OperationUnits } from "./bill.ts";

export const ECONOMY_BEGIN = "<!-- units:begin (npm run cost writes this table) -->";
export const ECONOMY_END = "<!-- units:end -->";

const ROWS: Array<[keyof Measurement["operations"], string]> = [
  ["read_memory", "read by id or email, from isolate memory"],
  ["read_cache_api", "read, from the Cache API"],
  ["read_kv", "read, from KV"],
  ["read_miss", "read, KV miss (Postgres, then a fill)"],
  ["write_create", "`POST /v1/subscribers` at the edge"],
  ["write_update", "`PATCH` at the edge"],
  ["write_delete", "`DELETE` at the edge"],
  ["write_forget", "`…/forget` at the edge"],
  ["consumer_per_write", "the consumer, per write (batches, settle)"],
  ["search_warm", "`/search`, warm isolate"],
];
const UNITS: Array<[keyof OperationUnits, string]> = [
  ["kv_reads", "KV reads"],
  ["kv_writes", "KV writes"],
  ["kv_deletes", "KV deletes"],
  ["do_requests", "DO calls"],
  ["do_rows_written", "DO rows"],
  ["queue_sent", "queue units sent"],
  ["db_round_trips", "Postgres round trips"],
];

const fmt = (x: number | undefined) => (x === undefined ? "–" : String(Math.round(x * 1000) / 1000));

export function economyTable(before: Measurement, after: Measurement): string {
  const head = ["per operation (before → now)", ...UNITS.map(([, label]) => label)];
  const rows = ROWS.map(([op, label]) => {
    const b = before.operations[op];
    const a = after.operations[op];
    const cell = (u: keyof OperationUnits) => {
      const was = b && b.samples > 0 ? b[u] : undefined;
      const now = a && a.samples > 0 ? a[u] : undefined;
      return was === now ? fmt(now) : `${fmt(was)} → ${fmt(now)}`;
    };
    return [label, ...UNITS.map(([u]) => cell(u))];
  });
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

export function withBlock(doc: string, begin: string, end: string, table: string): string {
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`no ${begin} … ${end} block`);
  return `${doc.slice(0, start + begin.length)}\n\n${table}\n\n${doc.slice(stop)}`;
}
