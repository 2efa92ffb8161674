// npm run bench:profile [-- get_hit|search|post]
// A V8 CPU profile of the built Worker under the bench's load, taken through workerd's inspector
// (the DevTools protocol): writes .data/bench/<scenario>.cpuprofile (open it in Chrome DevTools or
// speedscope) and prints the functions with the most self time. The profiler slows the Worker
// down, so read shares, not req/s; the bench's figures come from `npm run bench` alone.

import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LoadSpec } from "./lib/bench/load.ts";
import { runLoad } from "./lib/bench/load.ts";
import { hotReadSpec, postSpec, searchSpec } from "./lib/bench/scenarios.ts";
import { BENCH_DIR, startStack } from "./lib/bench/stack.ts";
import { freePort } from "./lib/free-port.ts";

// Loaded the way Vite-free Node scripts here load CommonJS-only packages.
const WebSocket = createRequire(import.meta.url)("ws") as typeof import("ws").default;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

const scenario = process.argv[2] ?? "get_hit";
if (!["get_hit", "search", "post"].includes(scenario)) {
  console.error(`unknown scenario ${scenario}: use get_hit, search or post`);
  process.exit(2);
}
process.env.BENCH_INSPECTOR_PORT = String(await freePort());
const stack = await startStack({ log: (m) => console.log(`[profile] ${m}`) });

/** The bench's own load for the scenario (scripts/lib/bench/scenarios.ts). */
async function specFor(name: string): Promise<LoadSpec> {
  const opts = { seconds: 5, connections: 32 };
  const runId = `profile-${Date.now().toString(36)}`;
  if (name === "post") return postSpec(stack, opts, runId);
  if (name === "get_hit") return hotReadSpec(stack, opts, runId);
  // An index of 5,000 plans, as after the bench's ingest, without its 1,000,000 zones.
  stack.provider.setGenerated({ plans: 5_000, zonesPerPlan: 2, basePlanIdOffset: 500_000 });
  const res = await fetch(new URL("/v1/admin/plans/sync", stack.appUrl), {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.adminKey}` },
  });
  if (res.status !== 200) throw new Error(`sync: ${res.status} ${await res.text()}`);
  return searchSpec(stack, opts);
}

async function devtools(): Promise<(method: string, params?: object) => Promise<Record<string, unknown>>> {
  const targets = (await (await fetch(`http://127.0.0.1:${process.env.BENCH_INSPECTOR_PORT}/json`)).json()) as Array<{
    id: string;
    webSocketDebuggerUrl?: string;
  }>;
  const app = targets.find((t) => t.id === "core:user:app");
  if (!app?.webSocketDebuggerUrl) throw new Error(`no inspector target for the app among ${targets.map((t) => t.id).join(", ")}`);
  const ws = new WebSocket(app.webSocketDebuggerUrl);
  await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
  let next = 0;
  const pending = new Map<number, (r: Record<string, unknown>) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? {});
  });
  return (method, params = {}) =>
    new Promise((ok) => {
      const id = ++next;
      pending.set(id, ok);
      ws.send(JSON.stringify({ id, method, params }));
    });
}

/** Self time per function, largest first. */
function selfTimes(p: CpuProfile): Array<{ ms: number; share: number; fn: string }> {
  const self = new Map<number, number>();
  for (const [i, node] of p.samples.entries()) self.set(node, (self.get(node) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    total += us;
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url ? `${f.url.split("/").pop()}:${f.lineNumber + 1}` : ""}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return [...byFn].sort((a, b) => b[1] - a[1]).map(([fn, us]) => ({ fn, ms: us / 1000, share: us / total }));
}

try {
  const spec = await specFor(scenario);
  await runLoad({ ...spec, seconds: 2 });
  const send = await devtools();
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  const load = await runLoad(spec);
  const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
  const file = `${BENCH_DIR}/${scenario}.cpuprofile`;
  writeFileSync(file, JSON.stringify(profile));
  console.log(`[profile] ${scenario}: ${load.rps} req/s under the profiler, statuses ${JSON.stringify(load.statuses)}; wrote ${file}`);
  console.log("   self ms  share  function (file:line of the built Worker, .data/bench/dist/index.js)");
  for (const r of selfTimes(profile).slice(0, 30))
    console.log(`${r.ms.toFixed(0).padStart(9)}  ${(r.share * 100).toFixed(1).padStart(4)}%  ${r.fn}`);
} finally {
  await stack.stop();
}
process.exit(0);
