// autocannon, wrapped: one HTTP load run → req/s, p50/p99 and status counts, plus the cache outcome
// the app reports per response (Server-Timing: cache;desc="hit|miss|error"), so a "miss" scenario
// proves it measured misses.
import autocannon from "autocannon";

export interface LoadSpec {
  url: URL;
  method?: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Called for every request: a fresh path/body (distinct ids, distinct emails). */
  next?: () => { path?: string; body?: string };
  seconds: number;
  connections: number;
}

export interface LoadResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  statuses: Record<string, number>;
  cache: Record<string, number>;
  errors: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const cache: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url: spec.url.origin,
    connections: spec.connections,
    duration: spec.seconds,
    // One pipelined request per connection: like real clients; pipelining would flatter the numbers.
    pipelining: 1,
    requests: [
      {
        method: spec.method ?? "GET",
        path: spec.path,
        headers: spec.headers ?? {},
        ...(spec.next
          ? {
              setupRequest: (req) => {
                const n = spec.next!();
                return { ...req, ...(n.path ? { path: n.path } : {}), ...(n.body !== undefined ? { body: n.body } : {}) };
              },
            }
          : {}),
        onResponse: (status: number, _body: string, _ctx: unknown, headers: Record<string, string | string[]>) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          const key = Object.keys(headers).find((k) => k.toLowerCase() === "server-timing");
          const raw = key ? headers[key] : undefined;
          // Repeated header lines arrive as a list.
          const timing = Array.isArray(raw) ? raw.join(", ") : raw;
          const m = typeof timing === "string" ? /cache;desc="?(\w+)/.exec(timing) : null;
          const outcome = m?.[1] ?? "none";
          cache[outcome] = (cache[outcome] ?? 0) + 1;
        },
      } as autocannon.Request,
    ],
  });
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: Math.round(requests / (result.duration || spec.seconds)),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    requests,
    statuses,
    cache,
    errors: result.errors + result.timeouts,
  };
}
