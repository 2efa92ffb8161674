import { DomainError } from "../lib/errors.ts";
import type { StepRange } from "./repositories/status.ts";

/** The dataset of wrangler.toml's [[analytics_engine_datasets]] (columns: src/lib/metrics.ts). */
const DATASET = "edge_api";
const TIMEOUT_MS = 10_000;

export interface AnalyticsSql {
  accountId: string;
  token: string;
}

/** One row of requestCellsQuery: the requests of a route group, step and latency bucket, weighted back. */
export interface RequestCell {
  route_group: string;
  b: number;
  bucket: number;
  n: number;
  errors: number;
  lookups: number;
  hits: number;
  sum_ms: number;
}

/** "YYYY-MM-DD hh:mm:ss" in UTC, the literal toDateTime() is documented to take. */
const utc = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");

/**
 * Requests per route group, step and latency bucket, each point counted as the requests it stands
 * for: its own weight (double4, our sample interval) times Analytics Engine's `_sample_interval`
 * (its own sampling). Steps are numbered from r.startMs, as requestsPerStep numbers them.
 */
export function requestCellsQuery(r: StepRange): string {
  const start = Math.floor(r.startMs / 1000);
  const end = Math.ceil(r.endMs / 1000);
  const step = Math.max(1, Math.round(r.stepMs / 1000));
  const w = "_sample_interval * double4";
  return [
    `SELECT blob8 AS route_group, intDiv(toUInt32(timestamp) - ${start}, ${step}) AS b, double5 AS bucket,`,
    `  SUM(${w}) AS n, SUM(if(double2 >= 500, ${w}, 0)) AS errors,`,
    `  SUM(if(blob5 != '', ${w}, 0)) AS lookups, SUM(if(blob5 = 'hit', ${w}, 0)) AS hits, SUM(${w} * double1) AS sum_ms`,
    `FROM ${DATASET}`,
    `WHERE blob1 = 'request' AND timestamp >= toDateTime('${utc(start)}', 'Etc/UTC') AND timestamp < toDateTime('${utc(end)}', 'Etc/UTC')`,
    "GROUP BY route_group, b, bucket",
    "FORMAT JSON",
  ].join("\n");
}

/**
 * Runs requestCellsQuery on the Analytics Engine SQL API. The API answers 64-bit numbers as strings
 * (ClickHouse's JSON), so every number is read with Number(). Fails as `unavailable` (503 with
 * Retry-After) when the API does not answer well: the status page must not show zeros for an outage.
 */
export async function requestCells(api: AnalyticsSql, r: StepRange): Promise<RequestCell[]> {
  const url = `https://api.cloudflare.com/client/v4/accounts/${api.accountId}/analytics_engine/sql`;
  let body: { data?: Array<Record<string, unknown>> };
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.token}` },
      body: requestCellsQuery(r),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`Analytics Engine SQL API answered ${res.status}`);
    body = await res.json();
  } catch (err) {
    throw new DomainError("unavailable", "Request metrics are unavailable right now.", { retryAfterSeconds: 30, cause: err });
  }
  return (body.data ?? []).map((row) => ({
    route_group: String(row.route_group ?? ""),
    b: Number(row.b),
    bucket: Number(row.bucket),
    n: Number(row.n),
    errors: Number(row.errors),
    lookups: Number(row.lookups),
    hits: Number(row.hits),
    sum_ms: Number(row.sum_ms),
  }));
}
