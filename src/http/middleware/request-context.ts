import type { MiddlewareHandler } from "hono";
import { newUnits, unitsWithThisLine, withMeter } from "../../lib/meter.ts";
import { writeMetric } from "../../lib/metrics.ts";
import { metricWeight } from "../../lib/sampling.ts";
import { createRuntime } from "../../runtime.ts";
import { bucketIndex, flushRollups, isolateRollups, recordRequest, routeGroup, takeDueRows } from "../../status/index.ts";
import type { AppEnv } from "../context.ts";
import { rateLimitHeaders } from "../problems.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function waitUntil(c: Parameters<MiddlewareHandler<AppEnv>>[0], p: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(p);
  } catch {
    // app.request() without an execution context (unit tests): let the promise run on its own.
    void p;
  }
}

function hasExecutionContext(c: Parameters<MiddlewareHandler<AppEnv>>[0]): boolean {
  try {
    return c.executionCtx !== undefined;
  } catch {
    return false;
  }
}

/**
 * First in the chain: request id (an incoming well-formed X-Request-Id is kept), the per-request
 * runtime, and the one structured log line and metrics data point per request, written after the
 * response is known, with every billable unit the request spent (src/lib/meter.ts). Never logs the key (only its id), the client address or an email.
 *
 * Not hono/request-id: it accepts only [A-Za-z0-9_=-], so trace ids with "." or ":" (X-Ray's
 * "Root=1-…", "req-abc.123") that clients already send would be replaced, and it sets the header
 * through c.header, which copies a response a handler built itself.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    const rt = createRuntime(c.env, { request_id: requestId }, hasExecutionContext(c) ? (work) => waitUntil(c, work) : undefined, {
      sampledLines: true,
      requestUrl: c.req.url,
    });
    c.set("rt", rt);
    const units = newUnits();
    try {
      await withMeter(units, next);
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // Straight onto the response's headers (as secureHeaders and cors do): c.header() on a finished
      // response copies the whole Response on every call, six times per request here.
      const headers = c.res.headers;
      headers.set("X-Request-Id", requestId);
      const limit = c.get("rateLimit");
      // A 429 already carries these from the error; successes show what is left.
      if (limit && !headers.has("RateLimit-Limit")) {
        for (const [name, value] of Object.entries(rateLimitHeaders(limit))) headers.set(name, value);
      }
      const keyId = c.get("principal")?.keyId ?? null;
      const cache = c.get("cacheOutcome") ?? null;
      const level = c.get("cacheLevel") ?? null;
      // The cache outcome is visible to clients and load tests (the bench checks its misses are misses).
      // Joined with the timing middleware's `total` into one header line: appending would send two
      // lines, which some clients read as a list.
      if (cache) {
        const entry = level ? `cache;desc="${cache}", cache-level;desc="${level}"` : `cache;desc="${cache}"`;
        const timing = headers.get("Server-Timing");
        headers.set("Server-Timing", timing ? `${timing}, ${entry}` : entry);
      }
      const route = c.req.routePath;
      const status = c.res.status;
      const group = routeGroup(route);
      // 1 in METRICS_SAMPLE_INTERVAL successes, weighted so that sums estimate every request; every 4xx/5xx.
      const weight = metricWeight(status, rt.config.metricsSampleInterval);
      // After next() returned, outside the meter: the point is counted on this request explicitly.
      if (weight > 0) {
        withMeter(units, () =>
          writeMetric(c.env, {
            kind: "request",
            name: route,
            method: c.req.method,
            status,
            ms,
            cache,
            keyId,
            cacheLevel: level,
            group,
            bucket: bucketIndex(ms),
            weight,
          }),
        );
      }
      if (rt.config.metricsRollups) {
        // In memory, O(1); at most once a minute, this request also carries the finished minutes to Postgres.
        const rollups = isolateRollups.state;
        const now = rollups.now();
        recordRequest(rollups, now, { group, status, ms, cache });
        const due = takeDueRows(rollups, now);
        if (due) waitUntil(c, flushRollups(rt.config, rt.log, due));
      }
      // A success's line is a sample (LOG_SAMPLE_RATE); a 4xx or 5xx is always written.
      const log = status >= 400 ? rt.log.unsampled() : rt.log;
      log[status >= 500 ? "error" : "info"]("http_request", {
        method: c.req.method,
        route,
        status,
        ms,
        cache,
        ...(level && { cache_level: level }),
        key_id: keyId,
        db: rt.dbUsed,
        ...unitsWithThisLine(units),
      });
      // Only a request that opened the database has a pool to close.
      if (rt.dbUsed) waitUntil(c, rt.dispose());
    }
  };
}
