// Synthetic provider documents in the real feed's format, for ingest tests and the benchmark.
// Pure TypeScript (no Node APIs) so workerd tests and Node scripts share it. Deterministic per seed.

export interface GenerateOptions {
  plans: number;
  zonesPerPlan: number;
  plansPerBase?: number;
  /** Every n-th base plan is offline (0 = none). */
  offlineEvery?: number;
  /** Every n-th plan has an impossible date such as 2022-04-31 (0 = none). */
  invalidEvery?: number;
  /** Shifts prices, so a second document differs from the first in every plan. */
  priceShift?: number;
  basePlanIdOffset?: number;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Yields the document in pieces of about `chunkPlans` plans, so even a 100 MB document is never one string. */
export function* generatePlanDocument(opts: GenerateOptions, chunkPlans = 50): Generator<string> {
  const perBase = opts.plansPerBase ?? 10;
  const baseOffset = opts.basePlanIdOffset ?? 10_000;
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<planList version="1.0">\n   <output>\n';
  let buf = "";
  for (let i = 0; i < opts.plans; i++) {
    const base = Math.floor(i / perBase);
    if (i % perBase === 0) {
      if (i > 0) buf += "      </base_plan>\n";
      const mode = opts.offlineEvery && base % opts.offlineEvery === opts.offlineEvery - 1 ? "offline" : "online";
      buf += `      <base_plan base_plan_id="${baseOffset + base}" sell_mode="${mode}" organizer_company_id="${base % 7}" title="Generated show ${base}">\n`;
    }
    const day = 1 + (i % 28);
    const month = 1 + (Math.floor(i / 28) % 12);
    const hour = 10 + (i % 12);
    const invalid = opts.invalidEvery && i % opts.invalidEvery === opts.invalidEvery - 1;
    const date = invalid ? "2022-04-31" : `2022-${pad(month)}-${pad(day)}`;
    buf += `         <plan plan_start_date="${date}T${pad(hour)}:00:00" plan_end_date="${date}T${pad(hour + 1)}:30:00" plan_id="${i % 1000}" sell_from="2021-12-01T00:00:00" sell_to="${date}T${pad(hour - 1)}:00:00" sold_out="false">\n`;
    for (let z = 0; z < opts.zonesPerPlan; z++) {
      const price = (10 + ((i * 7 + z * 13) % 90) + (opts.priceShift ?? 0)).toFixed(2);
      buf += `            <zone zone_id="${z % 50}" capacity="${(i + z) % 300}" price="${price}" name="Zone ${z}" numbered="${z % 2 === 0}" />\n`;
    }
    buf += "         </plan>\n";
    if (i % chunkPlans === chunkPlans - 1) {
      yield buf;
      buf = "";
    }
  }
  if (opts.plans > 0) buf += "      </base_plan>\n";
  yield `${buf}   </output>\n</planList>\n`;
}

export const generatePlanDocumentText = (opts: GenerateOptions) => [...generatePlanDocument(opts)].join("");
