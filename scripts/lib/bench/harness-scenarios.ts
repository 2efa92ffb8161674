// The ceiling and the simulators' own cost: the trivial "ok" Worker on its own (throughput and latency
// at concurrency 1), and with a bare KV put or a bare POST's KV/Queue calls. The same-I/O harness rows
// (a Worker making exactly our paths' calls) sit beside the scenarios they measure.
import { runLoad } from "./load.ts";
import type { Scenario } from "./scenario-kit.ts";
import { assertOnly, c1Of, http, latencyC1, warm } from "./scenario-kit.ts";

/** The baseline runs before each scenario held to it; its latency at concurrency 1 is a figure, measured once. */
let c1Measured = false;

export const baseline: Scenario = {
  id: "baseline",
  label: 'trivial "ok" Worker (baseline)',
  async run(stack, opts) {
    const spec = { url: stack.baselineUrl, path: "/", seconds: opts.seconds, connections: opts.connections };
    await warm(opts, spec);
    const r = await runLoad(spec);
    assertOnly(r, [200], "baseline");
    if (c1Measured) return http(r);
    c1Measured = true;
    return { ...http(r), c1: c1Of(await latencyC1(opts, spec, [200], "baseline")) };
  },
};

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
