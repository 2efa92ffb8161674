// The bench's scenarios. Each returns a Measurement; bench.ts runs them in the order of SCENARIOS,
// side by side in one process, and turns them into the table and latest.json. They live by area:
// harness-scenarios.ts (the trivial Worker baseline and the harness probes), subscriber-scenarios.ts
// (GET hit and miss, POST), consumer-scenarios.ts (the queue consumer and its raw-INSERT reference),
// plan-scenarios.ts (plan ingest, warm /search) and webhook-scenarios.ts (deliveries against a raw
// loop of signed POSTs, measured inside the one scenario); scenario-kit.ts holds their shared types and
// helpers. To add one: write it beside its area's others and list it below. Keep existing ids: they
// key latest.json and the README's table.
import { consumer, rawInsert } from "./consumer-scenarios.ts";
import { baseline, probeKvPut, probePostIo } from "./harness-scenarios.ts";
import { planIngest, searchWarm } from "./plan-scenarios.ts";
import type { Scenario } from "./scenario-kit.ts";
import { getHit, getMiss, post, rollupCost } from "./subscriber-scenarios.ts";
import { webhooks } from "./webhook-scenarios.ts";

// The load specs scripts/profile.ts runs, so a profile uses exactly the bench's load.
export { searchSpec } from "./plan-scenarios.ts";
export type { BenchOptions, Measurement, Scenario } from "./scenario-kit.ts";
export { hotReadSpec, postSpec } from "./subscriber-scenarios.ts";

/** In run order: the ceiling first, then reads, writes and their harness ceilings, the consumer and its reference, plans, webhooks. */
export const SCENARIOS: Scenario[] = [
  baseline,
  getHit,
  rollupCost,
  getMiss,
  post,
  probeKvPut,
  probePostIo,
  consumer,
  rawInsert,
  planIngest,
  searchWarm,
  webhooks,
];
