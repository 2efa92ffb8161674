// autocannon, wrapped: one HTTP load run → req/s, p50/p99 and status counts, plus the cache outcome
// the app reports per response (Server-Timing: cache;desc="hit|miss|error"), so a "miss" scenario
// proves it measured misses. And the same spec one request at a time, for latency at concurrency 1.
import http from "node:http";
import autocannon from "autocannon";

export interface LoadSpec {
  url: URL;
  method?: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Called for every request: a fresh path/body (distinct ids, distinct emails), or headers to add. */
  next?: () => { path?: string; body?: string; headers?: Record<string, string> };
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
                return {
                  ...req,
                  ...(n.path ? { path: n.path } : {}),
                  ...(n.body !== undefined ? { body: n.body } : {}),
                  ...(n.headers ? { headers: { ...req.headers, ...n.headers } } : {}),
                };
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

/** A load result without the error count: a connection error rejects a sequential run instead. */
export type SequentialResult = Omit<LoadResult, "errors">;

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * Latency at concurrency 1: one keep-alive connection, one request at a time, each timed to its last
 * body byte with performance.now(). autocannon reports whole milliseconds, too coarse for a 2 ms hit.
 */
export async function runSequential(spec: LoadSpec): Promise<SequentialResult> {
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  const cache: Record<string, number> = {};
  const started = performance.now();
  const until = started + spec.seconds * 1000;
  while (performance.now() < until) {
    const n = spec.next?.() ?? {};
    const t0 = performance.now();
    const { status, timing } = await new Promise<{ status: number; timing: string }>((done, fail) => {
      const req = http.request(
        new URL(n.path ?? spec.path, spec.url),
        { method: spec.method ?? "GET", headers: { ...spec.headers, ...n.headers }, agent: keepAlive },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => done({ status: res.statusCode ?? 0, timing: String(res.headers["server-timing"] ?? "") }));
          res.on("error", fail);
        },
      );
      req.on("error", fail);
      req.end(n.body);
    });
    times.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
    const outcome = /cache;desc="?(\w+)/.exec(timing)?.[1] ?? "none";
    cache[outcome] = (cache[outcome] ?? 0) + 1;
  }
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 100) / 100;
  return { rps: Math.round((times.length / elapsed) * 1000), p50_ms: at(0.5), p99_ms: at(0.99), requests: times.length, statuses, cache };
}
