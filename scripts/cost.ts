// npm run cost: the monthly bill at 1M and 10M requests a minute from billable units the meter
// measured on the local stack (scripts/lib/cost/workload.ts), priced from scripts/lib/cost/prices.json.
// Writes .data/cost/latest.json, docs/cost/measured.json (what the README's table is made from)
// the README's table and the units table of docs/operations.md (against docs/cost/before.json). `npm run cost -- --offline` re-prices the last measurement without a run.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Measurement } from "./lib/cost/bill.ts";
import { ECONOMY_BEGIN, ECONOMY_END, economyTable, withBlock } from "./lib/cost/economy.ts";
import { printable, readmeTable, report, withTable } from "./lib/cost/render.ts";
import { measure } from "./lib/cost/workload.ts";

const MEASURED = "docs/cost/measured.json";

const offline = process.argv.includes("--offline");
const m: Measurement = offline
  ? (JSON.parse(readFileSync(MEASURED, "utf8")) as Measurement)
  : await measure((line) => process.stderr.write(`[cost] ${line}\n`));
const r = report(m);
mkdirSync(".data/cost", { recursive: true });
writeFileSync(".data/cost/latest.json", `${JSON.stringify({ ...r, measurement: m }, null, 2)}\n`);
mkdirSync("docs/cost", { recursive: true });
writeFileSync(MEASURED, `${JSON.stringify(m, null, 2)}\n`);
writeFileSync("README.md", withTable(readFileSync("README.md", "utf8"), readmeTable(r)));
const before = JSON.parse(readFileSync("docs/cost/before.json", "utf8")) as Measurement;
const ops = readFileSync("docs/operations.md", "utf8");
writeFileSync("docs/operations.md", withBlock(ops, ECONOMY_BEGIN, ECONOMY_END, economyTable(before, m)));
console.log(printable(m, r));
