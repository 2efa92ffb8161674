// The bench's scenarios. Each returns a Measurement; bench.ts runs them in the order of SCENARIOS,
// side by side in one process, and turns them into the tables and latest.json. Each measures its path
// in slices interleaved with what it is held to (interleave.ts, paired-load.ts); rows measured only as
// such a side (the baseline, the harness rows, the raw INSERT) say `measuredBy`. They live by area:
// harness-scenarios.ts (the trivial Worker baseline and the simulator probes), subscriber-scenarios.ts
// (GET hit and miss, POST, with the miss's and the POST's same-I/O harness rows), consumer-scenarios.ts
// (the consumer through Miniflare's queue and driven directly at K=1 and K=8 beside its harness, and
// the raw-INSERT reference), plan-scenarios.ts (plan ingest, warm /search, /search revalidated to 304)
// and webhook-scenarios.ts (deliveries against a raw loop of signed POSTs, measured inside the one
// scenario); scenario-kit.ts holds their shared types and helpers; harness-worker/ is the same-I/O
// Worker. To add one: write it beside its area's others and list it below. Keep existing ids: they
// key latest.json and docs/benchmarks.md's tables.
import { consumer, consumerK1, consumerK8, rawInsert } from "./consumer-scenarios.ts";
import { baseline, probeKvPut, probePostIo } from "./harness-scenarios.ts";
import { planIngest, search304, searchWarm } from "./plan-scenarios.ts";
import type { Scenario } from "./scenario-kit.ts";
import { getHit, getMiss, getMissHarness, post, postIoHarness, rollupCost } from "./subscriber-scenarios.ts";
import { webhooks } from "./webhook-scenarios.ts";

// The load specs scripts/profile.ts runs, so a profile uses exactly the bench's load.
export { searchSpec } from "./plan-scenarios.ts";
export type { BenchOptions, Measurement, Scenario, Target } from "./scenario-kit.ts";
export { hotReadSpec, postSpec } from "./subscriber-scenarios.ts";

/**
 * In table order: the ceiling first, then reads and writes each beside its same-I/O harness, the
 * simulators' own cost, the consumer and its references, plans, webhooks.
 */
export const SCENARIOS: Scenario[] = [
  baseline,
  getHit,
  rollupCost,
  getMiss,
  getMissHarness,
  post,
  postIoHarness,
  probeKvPut,
  probePostIo,
  consumer,
  rawInsert,
  consumerK1,
  consumerK8,
  planIngest,
  searchWarm,
  search304,
  webhooks,
];
