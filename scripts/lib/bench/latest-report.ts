// latest.json: a bench run's figures, ratios, targets and checks, keyed as docs/benchmarks.md reads them.
import { cpus, loadavg } from "node:os";
import type { BenchOptions } from "./scenarios.ts";
import type { BenchRun, IngestVerdict, Scored } from "./score.ts";
import { c1p50Of, isTarget, kvVerdict, rateOf, targetKey } from "./score.ts";

export function latestReport(run: BenchRun, scored: Scored[], ingest: IngestVerdict, opts: BenchOptions, started: number) {
  const { results, failures } = run;
  const rate = (id: string) => rateOf(run, id);
  const c1p50 = (id: string) => c1p50Of(run, id);
  const p99 = (id: string) => results[id]?.p99_ms ?? null;
  const c1p99 = (id: string) => results[id]?.c1?.p99_ms ?? null;
  const targets = Object.fromEntries(
    scored.filter(isTarget).map((x) => [
      targetKey(x),
      {
        ratio: x.ratio,
        min: x.target.min ?? null,
        max: x.target.max ?? null,
        of: x.target.of,
        metric: x.target.metric ?? "rate",
        pass: x.pass,
        range: x.paired ? [x.paired.min, x.paired.max] : null,
        rounds: x.paired?.rounds ?? null,
      },
    ]),
  );
  return {
    date: new Date().toISOString(),
    quick: opts.quick,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? "",
      node: process.version,
      loadavg_at_end: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    config: {
      seconds: opts.seconds,
      warmup_seconds: opts.warmupSeconds,
      connections: opts.connections,
      c1_seconds: opts.c1Seconds,
      consumer_rows: opts.consumerRows,
      webhook_events: opts.webhookEvents,
    },
    baseline_rps: rate("baseline"),
    baseline_p99_ms: p99("baseline"),
    baseline_c1_p50_ms: c1p50("baseline"),
    baseline_c1_p99_ms: c1p99("baseline"),
    get_hit_rps: rate("get_hit"),
    rollups_on_hit_rps: rate("rollup_cost"),
    rollups_off_hit_rps: results.rollup_cost?.reference?.rate ?? null,
    rollups_ratio: scored.find((x) => x.scenario.id === "rollup_cost")?.ratio ?? null,
    get_hit_p99_ms: p99("get_hit"),
    get_hit_c1_p50_ms: c1p50("get_hit"),
    get_hit_c1_p99_ms: c1p99("get_hit"),
    get_miss_rps: rate("get_miss"),
    get_miss_p99_ms: p99("get_miss"),
    get_miss_c1_p50_ms: c1p50("get_miss"),
    get_miss_c1_p99_ms: c1p99("get_miss"),
    get_miss_harness_rps: rate("get_miss_harness"),
    get_miss_harness_c1_p50_ms: c1p50("get_miss_harness"),
    get_miss_harness_c1_p99_ms: c1p99("get_miss_harness"),
    search_rps: rate("search"),
    search_p99_ms: p99("search"),
    search_c1_p50_ms: c1p50("search"),
    search_c1_p99_ms: c1p99("search"),
    search_304_rps: rate("search_304"),
    search_304_p99_ms: p99("search_304"),
    search_304_c1_p50_ms: c1p50("search_304"),
    search_304_c1_p99_ms: c1p99("search_304"),
    post_rps: rate("post"),
    post_p99_ms: p99("post"),
    post_c1_p50_ms: c1p50("post"),
    post_c1_p99_ms: c1p99("post"),
    post_io_harness_rps: rate("post_io_harness"),
    post_io_harness_p99_ms: p99("post_io_harness"),
    post_io_harness_c1_p50_ms: c1p50("post_io_harness"),
    probe_kv_put_rps: rate("probe_kv_put"),
    probe_post_io_rps: rate("probe_post_io"),
    consumer_rows_per_s: rate("consumer"),
    consumer_k1_rows_per_s: rate("consumer_k1"),
    consumer_k8_rows_per_s: rate("consumer_k8"),
    consumer_harness_k1_rows_per_s: results.consumer_k1?.reference?.rate ?? null,
    consumer_harness_k8_rows_per_s: results.consumer_k8?.reference?.rate ?? null,
    raw_insert_rows_per_s: rate("raw_insert"),
    ingest_ms: rate("ingest"),
    ingest_cpu_ms: ingest.measurement?.extra?.ingest_cpu_ms ?? null,
    ingest_peak_mb: ingest.measurement?.extra?.ingest_peak_mb ?? null,
    ingest_v8_heap_cap_mb: ingest.measurement?.checks?.v8_max_old_space_mb ?? null,
    webhook_events_per_s: rate("webhooks"),
    webhook_raw_post_per_s: results.webhooks?.reference?.rate ?? null,
    webhook_ratio: scored.find((x) => x.scenario.id === "webhooks")?.ratio ?? null,
    targets,
    /** Every ratio the tables show, targets or not: "<scenario> / <what it is compared with>" (median of the per-round ratios). */
    ratios: Object.fromEntries(scored.filter((x) => x.ratio !== null).map((x) => [`${x.scenario.id} / ${x.versus}`, x.ratio])),
    /** The same ratios' per-round values, from the slices interleaved with their reference. */
    ratio_rounds: Object.fromEntries(scored.filter((x) => x.paired).map((x) => [`${x.scenario.id} / ${x.versus}`, x.paired!.rounds])),
    /** The most writes one key of the app's KV received within 1 s, over the run and per scenario (the KV write shim). */
    kv_writes_per_key: { ...kvVerdict(run), by_scenario: run.kvWrites },
    checks: Object.fromEntries(Object.entries(results).map(([id, m]) => [id, m?.checks ?? null])),
    /** Scenarios that threw, with their message (their figures are null, their targets fail). */
    failures,
    wall_seconds: Math.round((Date.now() - started) / 1000),
  };
}
