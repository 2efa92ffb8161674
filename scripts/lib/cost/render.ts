// npm run cost's output: the bills at every load and mix, the README's cost table (kept between
// markers and checked by scripts/lib/cost/cost.test.ts), and `.data/cost/latest.json`.
import { ASSUMPTIONS, LOADS, MIXES } from "./assumptions.ts";
import { awsBill } from "./aws.ts";
import type { Bill, Measurement } from "./bill.ts";
import { bill } from "./bill.ts";
import { withBlock } from "./economy.ts";
import prices from "./prices.json" with { type: "json" };

export const README_BEGIN = "<!-- cost:begin (npm run cost writes this table) -->";
export const README_END = "<!-- cost:end -->";

const $ = (x: number) => `$${Math.round(x).toLocaleString("en-US")}`;
const ratio = (b: Bill) => Math.round((b.service_subtotal / b.floor) * 100) / 100;

export interface Report {
  [load: string]: Bill & {
    ratio_to_floor: number;
    observability_share: number;
    mixes: Record<string, { service_subtotal: number; ratio_to_floor: number; total: number }>;
    aws: { with_cloudfront: number; without_cloudfront: number; lines: Record<string, number> };
  };
}

export function report(m: Measurement): Report {
  const out: Report = {};
  for (const load of LOADS) {
    const main = bill(m, load, MIXES[0]!);
    const mixes = Object.fromEntries(
      MIXES.map((mix) => {
        const b = bill(m, load, mix);
        return [mix.name, { service_subtotal: b.service_subtotal, ratio_to_floor: ratio(b), total: b.total }];
      }),
    );
    const aws = awsBill(load, MIXES[0]!);
    out[load.key] = {
      ...main,
      ratio_to_floor: ratio(main),
      observability_share: Math.round((main.observability / main.service_subtotal) * 1000) / 1000,
      mixes,
      aws,
    };
  }
  return out;
}

/** The README's table: this service's bill at both loads, line by line, and what it compares with. */
export function readmeTable(r: Report): string {
  const a = r["1m"]!;
  const b = r["10m"]!;
  const rows: string[][] = [["a month, mix 80/5/15", "1M requests/min", "10M requests/min"]];
  for (const name of Object.keys(a.lines)) rows.push([name, $(a.lines[name]!), $(b.lines[name]!)]);
  rows.push(["**floor** (Workers plan, API requests, CPU)", `**${$(a.floor)}**`, `**${$(b.floor)}**`]);
  rows.push(["**service subtotal** (all but the two observability lines)", `**${$(a.service_subtotal)}**`, `**${$(b.service_subtotal)}**`]);
  rows.push(["service subtotal ÷ floor", `${a.ratio_to_floor}×`, `${b.ratio_to_floor}×`]);
  rows.push(["observability ÷ service subtotal", pct(a.observability_share), pct(b.observability_share)]);
  rows.push(["**total**", `**${$(a.total)}**`, `**${$(b.total)}**`]);
  for (const mix of MIXES.slice(1)) {
    rows.push([`service subtotal at ${mix.name} (÷ floor)`, mixCell(a, mix.name), mixCell(b, mix.name)]);
  }
  rows.push(["AWS design, CloudFront in front of every request", $(a.aws.with_cloudfront), $(b.aws.with_cloudfront)]);
  rows.push(["AWS design, API calls straight to the ALB", $(a.aws.without_cloudfront), $(b.aws.without_cloudfront)]);
  return markdown(rows);
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
const mixCell = (r: Report[string], mix: string) => `${$(r.mixes[mix]!.service_subtotal)} (${r.mixes[mix]!.ratio_to_floor}×)`;

function markdown(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n");
}

/** What the console shows: the assumptions, the measured units, then the README's table. */
export function printable(m: Measurement, r: Report): string {
  const a = ASSUMPTIONS;
  const out = [
    "Assumptions (fixed):",
    `  mix 80 % reads by id or email, 5 % writes, 15 % /search (also priced at ${MIXES.slice(1)
      .map((x) => x.name)
      .join(" and ")})`,
    `  ${a.readsFromMemory * 100} % of subscriber reads answered from isolate memory; ${a.kvBoundMisses * 100} % of KV-bound reads miss KV;` +
      ` the Cache API answers ${a.kvBoundFromCacheApi * 100} % of the reads that would reach KV (${m.operations.read_cache_api.samples > 0 ? "measured present" : "no such level measured: 0 %"})`,
    `  writes: ${Object.entries(a.writeKinds)
      .map(([k, v]) => `${v * 100} % ${k}`)
      .join(", ")}, every one with an Idempotency-Key`,
    `  isolates: ${Object.entries(a.isolates)
      .map(([k, v]) => `${v} at ${k}`)
      .join(", ")}; rate-limit DO calls ≥ ${a.minDoCallsPerAuthenticatedRequest} per authenticated request`,
    `  CPU ms per read/write/search/consumed message: ${Object.values(a.cpuMs).join(" / ")} (npm run bench:profile, 2026-11-26)`,
    `  production sampling (wrangler.toml): log lines of successful requests ${m.sampling.log}, Analytics Engine points ${m.sampling.ae}`,
    `  prices: scripts/lib/cost/prices.json (${Object.keys(prices.cloudflare).length + Object.keys(prices.neon).length + Object.keys(prices.aws).length} entries, each with its source and date)`,
    "",
    `Billable units per operation, from the meter (${m.measured_at}):`,
    ...Object.entries(r["1m"]!.units_per_operation).map(([op, u]) => `  ${op.padEnd(20)} ${nonzero(u)}`),
    `  per isolate-minute: ${round(m.periodic_kv_reads_per_isolate_minute)} KV reads; per minute's cron run: ${nonzero({ ...m.cron_minute })}`,
    "",
    readmeTable(r),
  ];
  return out.join("\n");
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const nonzero = (u: Record<string, number> | object) =>
  Object.entries(u)
    .filter(([k, v]) => v !== 0 && k !== "samples")
    .map(([k, v]) => `${k} ${round(v)}`)
    .join(", ");

/** The README with its table replaced. */
export const withTable = (readme: string, table: string) => withBlock(readme, README_BEGIN, README_END, table);
