// The ceiling and the harness: the trivial "ok" Worker on its own, and with just a POST's I/O.
import { runLoad } from "./load.ts";
import type { Scenario } from "./scenario-kit.ts";
import { assertOnly, http, warm } from "./scenario-kit.ts";

export const baseline: Scenario = {
  id: "baseline",
  label: 'trivial "ok" Worker (baseline)',
  async run(stack, opts) {
    const spec = { url: stack.baselineUrl, path: "/", seconds: opts.seconds, connections: opts.connections };
    await warm(opts, spec);
    const r = await runLoad(spec);
    assertOnly(r, [200], "baseline");
    return http(r);
  },
};

/**
 * What Miniflare's KV and Queues simulators cost on their own: the trivial Worker doing a POST's I/O
 * (KV get, queue send, KV put) and nothing else. No target: it is the ceiling any POST handler
 * with that I/O can reach in this harness.
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
