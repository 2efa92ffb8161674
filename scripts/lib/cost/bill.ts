// The bill, line by line, from the billable units per operation the meter measured
// (scripts/lib/cost/workload.ts), the fixed assumptions and the price table. Pure: the README's
// cost table test runs it on the checked-in measurement.
import type { Unit } from "../../../src/lib/meter.ts";
import type { LoadKey, Mix } from "./assumptions.ts";
import { ASSUMPTIONS, MINUTES_A_MONTH } from "./assumptions.ts";
import prices from "./prices.json" with { type: "json" };

export type UnitCounts = Record<Unit, number>;

/** What one measured operation spent, on average, and how many invocations it took. */
export interface OperationUnits extends UnitCounts {
  /** Worker invocations per operation (a consumer batch serves many messages). */
  invocations: number;
  /** Log lines measured to get this average. */
  samples: number;
}

export const OPERATIONS = [
  "read_memory",
  "read_cache_api",
  "read_kv",
  "read_miss",
  "write_create",
  "write_update",
  "write_delete",
  "write_forget",
  "consumer_per_write",
  "search_warm",
] as const;
type Operation = (typeof OPERATIONS)[number];

export interface Measurement {
  measured_at: string;
  command: string;
  operations: Record<Operation, OperationUnits>;
  /** KV reads an isolate makes a minute whatever its load (the search index's generation check, the revocation list…). */
  periodic_kv_reads_per_isolate_minute: number;
  /** Every minute's cron run, all its tasks together. */
  cron_minute: OperationUnits;
  /** Production's sampling, from wrangler.toml: the share of successful requests' lines and points kept. */
  sampling: { log: number; ae: number };
}

interface Price {
  price: number;
  per?: number | string;
  included?: number;
}

const usd = (p: Price, units: number) => (Math.max(0, units - (p.included ?? 0)) / (typeof p.per === "number" ? p.per : 1)) * p.price;
const cf = prices.cloudflare as Record<string, Price>;
const neon = prices.neon as Record<string, Price>;

/** A blended request of each kind: the operations it stands for, with their weights. */
function blends(m: Measurement): Record<"read" | "write" | "search", Array<[Operation, number]>> {
  const a = ASSUMPTIONS;
  const kvBound = 1 - a.readsFromMemory;
  // A Cache API level counts only where the measurement saw one answer.
  const cacheApi = m.operations.read_cache_api.samples > 0 ? a.kvBoundFromCacheApi : 0;
  // The reads that reach KV; of those, the share that misses it (a Postgres read and a fill).
  const reachKv = kvBound * (1 - cacheApi);
  const w = a.writeKinds;
  return {
    read: [
      ["read_memory", a.readsFromMemory],
      ["read_cache_api", kvBound * cacheApi],
      ["read_kv", reachKv * (1 - a.kvBoundMisses)],
      ["read_miss", reachKv * a.kvBoundMisses],
    ],
    write: [
      ["write_create", w.create],
      ["write_update", w.update],
      ["write_delete", w.delete],
      ["write_forget", w.forget],
      ["consumer_per_write", 1],
    ],
    search: [["search_warm", 1]],
  };
}

const blend = (m: Measurement, parts: Array<[Operation, number]>, unit: keyof OperationUnits) =>
  parts.reduce((sum, [op, weight]) => sum + weight * m.operations[op][unit], 0);

export interface Bill {
  floor: number;
  service_subtotal: number;
  observability: number;
  total: number;
  lines: Record<string, number>;
  /** operation → unit → count, the blended requests included. */
  units_per_operation: Record<string, Record<string, number>>;
}

const EDGE: Array<"read" | "write" | "search"> = ["read", "write", "search"];

export function bill(m: Measurement, load: { key: LoadKey; rpm: number }, mix: Mix): Bill {
  const a = ASSUMPTIONS;
  const n = load.rpm * MINUTES_A_MONTH;
  const count = { read: n * mix.read, write: n * mix.write, search: n * mix.search };
  const parts = blends(m);
  const edgeParts = (k: "read" | "write" | "search") => parts[k].filter(([op]) => op !== "consumer_per_write");
  const total = (unit: keyof OperationUnits, kinds = EDGE) => kinds.reduce((s, k) => s + count[k] * blend(m, parts[k], unit), 0);
  const cron = (unit: keyof OperationUnits) => m.cron_minute[unit] * MINUTES_A_MONTH;
  const isolateMinutes = a.isolates[load.key]! * MINUTES_A_MONTH;
  const sum = (unit: Unit) => total(unit) + cron(unit);

  const consumerInvocations = count.write * m.operations.consumer_per_write.invocations + cron("invocations");
  const cpuMs = count.read * a.cpuMs.read + count.write * (a.cpuMs.write + a.cpuMs.consumerPerMessage) + count.search * a.cpuMs.search;
  const authenticated = count.read + count.write;
  const doMeasured = (["read", "write"] as const).reduce((s, k) => s + count[k] * blend(m, edgeParts(k), "do_requests"), 0);
  const doCalls = Math.max(doMeasured, authenticated * a.minDoCallsPerAuthenticatedRequest) + cron("do_requests");
  const rowsPerCall = doMeasured > 0 ? total("do_rows_written", ["read", "write"]) / doMeasured : 0;
  const queueOps = sum("queue_sent") + 2 * sum("queue_received");
  const dbTrips = sum("db_round_trips");
  const neonSize = a.neon[load.key]!;
  // Production keeps every line of a queue batch and a cron run, and a sample of successful requests.
  const edgeLogs = EDGE.reduce((s, k) => s + count[k] * blend(m, edgeParts(k), "log_events"), 0);
  const edgePoints = EDGE.reduce((s, k) => s + count[k] * blend(m, edgeParts(k), "ae_points"), 0);
  const backgroundLogs = count.write * m.operations.consumer_per_write.log_events + cron("log_events");
  const backgroundPoints = count.write * m.operations.consumer_per_write.ae_points + cron("ae_points");

  const floorLines = {
    "Workers Paid plan": cf.workers_plan!.price,
    "Worker requests (API)": usd(cf.worker_requests!, n),
    "Worker CPU": usd(cf.worker_cpu_ms!, cpuMs),
  };
  const lines: Record<string, number> = {
    ...floorLines,
    "Worker requests (queue consumers, cron)": usd({ ...cf.worker_requests!, included: 0 }, consumerInvocations),
    "KV reads": usd(cf.kv_reads!, sum("kv_reads") + m.periodic_kv_reads_per_isolate_minute * isolateMinutes),
    "KV writes": usd(cf.kv_writes!, sum("kv_writes")),
    "KV deletes": usd(cf.kv_deletes!, sum("kv_deletes")),
    "KV lists": usd(cf.kv_lists!, sum("kv_lists")),
    "KV storage": usd(cf.kv_storage_gb!, a.kvStorageGb[load.key]!),
    Queues: usd(cf.queue_operations!, queueOps),
    "Durable Objects requests": usd(cf.do_requests!, doCalls),
    "Durable Objects duration": usd(cf.do_duration_gb_s!, doCalls * a.doActiveSecondsPerCall * 0.125),
    "Durable Objects rows written": usd(cf.do_rows_written!, doCalls * rowsPerCall + cron("do_rows_written")),
    "Neon compute": neonSize.cu * 720 * neon.compute_cu_hour!.price,
    "Neon storage": neonSize.storageGb * neon.storage_gb_month!.price,
    "Neon transfer": usd(neon.transfer_gb!, (dbTrips * a.bytesPerDbRoundTrip) / 1e9),
    "Analytics Engine points": usd(cf.ae_points!, edgePoints * m.sampling.ae + backgroundPoints),
    "Workers Logs events": usd(cf.log_events!, edgeLogs * m.sampling.log + backgroundLogs),
  };
  const rounded = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, Math.round(v)]));
  const add = (names: string[]) => names.reduce((s, k) => s + rounded[k]!, 0);
  const observabilityLines = ["Analytics Engine points", "Workers Logs events"];
  const serviceLines = Object.keys(rounded).filter((k) => !observabilityLines.includes(k));
  const service = add(serviceLines);
  const observability = add(observabilityLines);
  const units_per_operation: Bill["units_per_operation"] = {};
  for (const op of Object.keys(m.operations) as Operation[]) units_per_operation[op] = { ...m.operations[op] };
  for (const k of EDGE) {
    const keys = Object.keys(m.operations.read_memory).filter((u) => u !== "samples") as Array<keyof OperationUnits>;
    units_per_operation[k] = Object.fromEntries(keys.map((u) => [u, round(blend(m, parts[k], u))]));
  }
  return {
    floor: add(Object.keys(floorLines)),
    service_subtotal: service,
    observability,
    total: service + observability,
    lines: rounded,
    units_per_operation,
  };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
