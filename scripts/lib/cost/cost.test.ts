import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LOADS, MIXES } from "./assumptions.ts";
import type { Measurement } from "./bill.ts";
import { bill, OPERATIONS } from "./bill.ts";
import { ECONOMY_BEGIN, ECONOMY_END, economyTable } from "./economy.ts";
import { productionSampling } from "./lines.ts";
import { README_BEGIN, README_END, readmeTable, report } from "./render.ts";

const measured = JSON.parse(readFileSync("docs/cost/measured.json", "utf8")) as Measurement;

describe("npm run cost", () => {
  it("the README's cost table is the output for the checked-in measurement", () => {
    const readme = readFileSync("README.md", "utf8");
    const block = readme.slice(readme.indexOf(README_BEGIN) + README_BEGIN.length, readme.indexOf(README_END)).trim();
    expect(block).toBe(readmeTable(report(measured)));
  });

  it("docs/operations.md's units table is the measurement against the one before the levers", () => {
    const doc = readFileSync("docs/operations.md", "utf8");
    const block = doc.slice(doc.indexOf(ECONOMY_BEGIN) + ECONOMY_BEGIN.length, doc.indexOf(ECONOMY_END)).trim();
    const before = JSON.parse(readFileSync("docs/cost/before.json", "utf8")) as Measurement;
    expect(block).toBe(economyTable(before, measured));
  });

  it("the measurement is of today's wrangler.toml sampling and covers every operation", () => {
    expect(measured.sampling).toEqual(productionSampling());
    for (const op of OPERATIONS) expect(measured.operations[op], op).toBeDefined();
    for (const op of OPERATIONS.filter((o) => o !== "read_cache_api")) expect(measured.operations[op].samples, op).toBeGreaterThan(0);
  });

  it("every line follows the units: one more KV write per write adds its price at both loads", () => {
    const dearer = structuredClone(measured);
    dearer.operations.write_create.kv_writes += 1;
    for (const load of LOADS) {
      const before = bill(measured, load, MIXES[0]!);
      const after = bill(dearer, load, MIXES[0]!);
      const writes = load.rpm * 43_200 * 0.05 * 0.5;
      expect(after.lines["KV writes"]! - before.lines["KV writes"]!).toBeCloseTo((writes / 1e6) * 5, -1);
      expect(after.floor).toBe(before.floor);
    }
  });
});
