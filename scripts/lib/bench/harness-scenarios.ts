// The ceiling and the simulators' own cost: the trivial "ok" Worker, measured as a side of every
// scenario held to it (interleaved with it, paired-load.ts), and the trivial Worker with a bare KV put
// or a bare POST's KV/Queue calls. The same-I/O harness rows (a Worker making exactly our paths' calls)
// sit beside the scenarios they measure.
import { runLoad } from "./load.ts";
import type { HttpSide } from "./paired-load.ts";
import type { BenchOptions, Scenario } from "./scenario-kit.ts";
import { assertOnly, http, warm } from "./scenario-kit.ts";
import type { Stack } from "./stack.ts";

export const baseline: Scenario = {
  id: "baseline",
  label: 'trivial "ok" Worker (baseline)',
  measuredBy: ["get_hit", "get_miss", "search", "search_304"],
};

/** The baseline as a side of a scenario held to it; its latency at concurrency 1 is measured beside the cache hit only. */
export function baselineSide(stack: Stack, opts: BenchOptions, c1 = false): HttpSide {
  return {
    name: "baseline",
    spec: { url: stack.baselineUrl, path: "/", seconds: opts.seconds, connections: opts.connections },
    allowed: [200],
    c1,
  };
}

/**
 * The trivial Worker after one call of the rate limiting binding: the I/O every public route (and
 * /search) makes before its own work, which Miniflare simulates at a cost production's binding does
 * not have (docs/benchmarks.md).
 */
export function rateLimitedBaselineSide(stack: Stack, opts: BenchOptions): HttpSide {
  return {
    name: "baseline_rate_limited",
    spec: { url: stack.baselineUrl, path: "/rate-limited", seconds: opts.seconds, connections: opts.connections },
    allowed: [200],
  };
}

/**
 * What Miniflare's KV and Queues simulators cost on their own: the trivial Worker doing a bare KV
 * put, or a POST's KV get, queue send and KV put (its consumer only acks). No target; the POST's
 * target is its same-I/O harness, which adds the limiter lease and the consumer's work.
 */
function probe(id: string, label: string, path: string): Scenario {
  return {
    id,
    label,
    async run(stack, opts) {
      const spec = { url: stack.baselineUrl, method: "POST" as const, path, seconds: opts.seconds, connections: opts.connections };
      await warm(opts, spec);
      const r = await runLoad(spec);
      assertOnly(r, [202], id);
      return http(r);
    },
  };
}

export const probeKvPut = probe("probe_kv_put", "harness: trivial Worker + 1 KV put", "/kv-put");
export const probePostIo = probe("probe_post_io", "harness: trivial Worker + KV get, send, KV put", "/post-io");
