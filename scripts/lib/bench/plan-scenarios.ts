// Plans: the ingest of a large generated document, and /search over the index it leaves.
import { readFileSync } from "node:fs";
import { baselineSide, rateLimitedBaselineSide } from "./harness-scenarios.ts";
import type { LoadSpec } from "./load.ts";
import { measureInterleaved, measurementOf, pairedOf } from "./paired-load.ts";
import type { Scenario, SpecOptions } from "./scenario-kit.ts";
import { bearer } from "./scenario-kit.ts";
import type { Stack } from "./stack.ts";

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, "0")}`);
const searchPath = (month: string) => `/search?starts_at=${month}-01T00:00:00Z&ends_at=${month}-28T23:59:59Z`;

/** /search over month-long ranges of 2022, cycling, so answers differ and are not all one body. */
export function searchSpec(stack: Stack, opts: SpecOptions): LoadSpec {
  let n = 0;
  return {
    url: stack.appUrl,
    path: searchPath(MONTHS[0]!),
    next: () => ({ path: searchPath(MONTHS[n++ % MONTHS.length]!) }),
    seconds: opts.seconds,
    connections: opts.connections,
  };
}

/** CPU time (user + system) of a process, from /proc, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function memMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(m![1]) / 1024);
}

const INGEST = { plans: 5_000, zonesPerPlan: 200 };
const INGEST_HEAP_CAP_MB = Number(process.env.BENCH_INGEST_HEAP_MB ?? 128);

/**
 * The sync of a generated 5,000 plans × 200 zones document (95 MB, 1,000,000 zones), streamed by the
 * provider stand-in, run by POST /v1/admin/plans/sync in a workerd process of its own so that its CPU
 * time and peak resident memory can be read from /proc around the run. The process figures include
 * workerd itself (sockets, stream buffers, young generation), so they are upper bounds for the
 * isolate; the memory limit itself is checked by capping V8's heap (BENCH_INGEST_HEAP_MB, default
 * 128: the Workers isolate limit). Measured here: the run also completes with the cap at 12 MB.
 */
export const planIngest: Scenario = {
  id: "ingest",
  label: `plan ingest, ${INGEST.plans.toLocaleString("en-US")} plans × ${INGEST.zonesPerPlan} zones`,
  async run(stack) {
    stack.provider.setGenerated({ ...INGEST, basePlanIdOffset: 500_000 });
    // V8's heap capped at the Workers isolate limit: if the sync needed more, it would fail here
    // rather than pass on a machine with memory to spare.
    const { url, pid } = await stack.startAppWorker([`--max-old-space-size=${INGEST_HEAP_CAP_MB}`]);
    // One request first, so start-up costs (script compile, config parse) are not counted.
    await fetch(new URL("/health", url));
    const rssBefore = memMb(pid, "VmRSS");
    const cpuBefore = cpuMs(pid);
    const started = performance.now();
    const res = await fetch(new URL("/v1/admin/plans/sync", url), { method: "POST", headers: bearer(stack.adminKey) });
    const wall = Math.round(performance.now() - started);
    const body = (await res.json()) as {
      data?: { outcome: string; counts: Record<string, number>; document: { bytes: number }; index: { plans: number } | null };
    };
    if (res.status !== 200 || body.data?.outcome !== "ok") throw new Error(`ingest: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    const cpu = Math.round(cpuMs(pid) - cpuBefore);
    const peak = memMb(pid, "VmHWM");
    const { rows } = await stack.pool.query<{ plans: number; zones: number }>(
      "select (select count(*) from plans where base_plan_id::int >= 500000)::int as plans, (select count(*) from zones z join plans p on p.id = z.plan_id where p.base_plan_id::int >= 500000)::int as zones",
    );
    if (rows[0]!.plans !== INGEST.plans || rows[0]!.zones !== INGEST.plans * INGEST.zonesPerPlan)
      throw new Error(`ingest: stored ${JSON.stringify(rows[0])}`);
    return {
      rate: wall,
      unit: "ms",
      p50_ms: null,
      p99_ms: null,
      checks: {
        v8_max_old_space_mb: INGEST_HEAP_CAP_MB,
        ...body.data.counts,
        bytes: body.data.document.bytes,
        stored_plans: rows[0]!.plans,
        stored_zones: rows[0]!.zones,
        workerd_rss_before_mb: rssBefore,
        workerd_peak_rss_mb: peak,
      },
      extra: { ingest_cpu_ms: cpu, ingest_peak_mb: peak - rssBefore },
    };
  },
};

/** Publishes the index in the app's own KV and checks that /search answers from it. */
async function warmIndex(stack: Stack, spec: LoadSpec): Promise<Response> {
  // Each Miniflare instance has its own KV: a sync in this one publishes the index here (the
  // document is unchanged, so it writes no plans, only the index).
  const synced = await fetch(new URL("/v1/admin/plans/sync", stack.appUrl), { method: "POST", headers: bearer(stack.adminKey) });
  if (synced.status !== 200) throw new Error(`search: sync ${synced.status} ${await synced.text()}`);
  const first = await fetch(new URL(spec.path, stack.appUrl));
  const body = (await first.clone().json()) as { data: { events: unknown[] } };
  if (first.status !== 200 || body.data.events.length === 0)
    throw new Error(`search: index not warm (${first.status}, ${body.data.events.length} events)`);
  return first;
}

/**
 * /search with the index warm (built by the ingest above: 5,000 plans, plus whatever else), cycling
 * through month-long ranges so answers differ and are not all one memoised body; interleaved with the
 * baseline.
 */
export const searchWarm: Scenario = {
  id: "search",
  label: "GET /search warm",
  targets: [{ of: "baseline", min: 0.6 }, { of: "baseline_rate_limited" }],
  needs: ["ingest"],
  async run(stack, opts) {
    const spec = searchSpec(stack, opts);
    const first = await warmIndex(stack, spec);
    const events = ((await first.json()) as { data: { events: unknown[] } }).data.events.length;
    const s = await measureInterleaved(opts, [
      { name: "search", spec, allowed: [200], c1: true },
      baselineSide(stack, opts),
      rateLimitedBaselineSide(stack, opts),
    ]);
    return {
      ...measurementOf(s.search!, { events_in_first_range: events }),
      paired: [pairedOf("baseline", s.search!, s.baseline!), pairedOf("baseline_rate_limited", s.search!, s.baseline_rate_limited!)],
      also: { baseline: measurementOf(s.baseline!) },
    };
  },
};

/**
 * Warm /search revalidated: each request carries If-None-Match with its range's current ETag, read
 * from a first 200 of each range, and must answer 304; interleaved with the warm /search it
 * revalidates and the baseline. Fails clearly when /search sends no ETag.
 */
export const search304: Scenario = {
  id: "search_304",
  label: "GET /search warm, If-None-Match → 304",
  targets: [{ of: "baseline" }, { of: "search" }],
  needs: ["ingest"],
  async run(stack, opts) {
    const spec = searchSpec(stack, opts);
    await warmIndex(stack, spec);
    const etags = new Map<string, string>();
    for (const month of MONTHS) {
      const res = await fetch(new URL(searchPath(month), stack.appUrl));
      await res.arrayBuffer();
      const etag = res.headers.get("etag");
      if (res.status !== 200 || !etag)
        throw new Error(`search_304: GET ${searchPath(month)} answered ${res.status} without an ETag; /search must send one`);
      etags.set(searchPath(month), etag);
    }
    let n = 0;
    const paths = [...etags.keys()];
    const revalidate: LoadSpec = {
      ...spec,
      path: paths[0]!,
      headers: { "If-None-Match": etags.get(paths[0]!)! },
      next: () => {
        const path = paths[n++ % paths.length]!;
        return { path, headers: { "If-None-Match": etags.get(path)! } };
      },
    };
    const s = await measureInterleaved(opts, [
      { name: "search_304", spec: revalidate, allowed: [304], c1: true },
      { name: "search", spec, allowed: [200] },
      baselineSide(stack, opts),
    ]);
    return {
      ...measurementOf(s.search_304!, { ranges: paths.length }),
      paired: [pairedOf("baseline", s.search_304!, s.baseline!), pairedOf("search", s.search_304!, s.search!)],
      also: { baseline: measurementOf(s.baseline!) },
    };
  },
};
