import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { CacheContext } from "../cache/read-through.ts";
import { safeGet, safePut } from "../cache/read-through.ts";
import type { ProviderSettings } from "../config/index.ts";
import { ProviderError, ProviderHttpError } from "./errors.ts";

const BREAKER_KEY = "provider:breaker:v1";

export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

export type FetchResult =
  | { status: "not_modified"; attempts: number }
  | { status: "ok"; attempts: number; validators: Validators; body: ReadableStream<Uint8Array>; done: () => void };

export type BreakerState = "closed" | "open" | "half_open" | "isolated";

const stateNames: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

function retryable(err: Error): boolean {
  if (err instanceof ProviderHttpError) return err.status >= 500 || err.status === 429 || err.status === 408;
  // Network failures and our own per-attempt timeout.
  return !(err instanceof BrokenCircuitError) && !(err instanceof ProviderError);
}

function createPolicies(settings: ProviderSettings, initialState: unknown) {
  const breaker = circuitBreaker(handleWhen(retryable), {
    halfOpenAfter: settings.breakerHalfOpenMs,
    breaker: new ConsecutiveBreaker(settings.breakerThreshold),
    initialState: initialState ?? undefined,
  });
  const retries = retry(handleWhen(retryable), {
    maxAttempts: settings.maxAttempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: settings.retryBaseMs, maxDelay: settings.retryBaseMs * 8 }),
  });
  // abortOnReturn false: the signal must stay usable while the body streams after the headers arrived.
  const perAttempt = timeout(settings.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  return { breaker, policy: wrap(retries, breaker, perAttempt) };
}

async function loadBreakerState(cache: CacheContext): Promise<unknown> {
  return safeGet<unknown>(cache, BREAKER_KEY);
}

/** The breaker as the last run left it (closed when never saved). */
export async function readBreakerState(cache: CacheContext, settings: ProviderSettings): Promise<BreakerState> {
  const { breaker } = createPolicies(settings, await loadBreakerState(cache));
  return stateNames[breaker.state];
}

/** Caps the body: a provider that sends more than `maxBytes` is cut off, not buffered. */
function limitBytes(maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) {
        controller.error(new ProviderError("bad_response", `provider document is larger than ${maxBytes} bytes`, 60));
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

/**
 * GETs the plan document through timeout → circuit breaker → retry with exponential backoff and
 * jitter. The breaker's state lives in the cache between cron runs, so a provider that is down is
 * left alone across runs instead of being hammered every minute. The body is returned as a stream
 * (size-capped, with its own deadline) for the streaming parser.
 */
export async function fetchPlanDocument(
  url: string,
  settings: ProviderSettings,
  cache: CacheContext,
  validators: Validators,
  onBreaker?: (state: BreakerState) => void,
): Promise<FetchResult> {
  const loaded = await loadBreakerState(cache);
  const { breaker, policy } = createPolicies(settings, loaded);
  const saveBreaker = async () => {
    onBreaker?.(stateNames[breaker.state]);
    // A healthy provider leaves a closed breaker exactly as it found it: rewriting that every minute
    // would be a KV write per run for nothing (when it expires, the default is the same closed breaker).
    const state = breaker.toJSON();
    if (breaker.state === CircuitState.Closed && JSON.stringify(state) === JSON.stringify(loaded)) return true;
    return safePut(cache, BREAKER_KEY, state, 7 * 24 * 3600);
  };
  let attempts = 0;
  let response: Response;
  let controller: AbortController;
  try {
    ({ response, controller } = await policy.execute(async ({ signal }) => {
      attempts++;
      const ac = new AbortController();
      const onAbort = () => ac.abort(signal.reason);
      signal.addEventListener("abort", onAbort);
      try {
        const headers: Record<string, string> = { accept: "application/xml, text/xml;q=0.9" };
        if (validators.etag) headers["if-none-match"] = validators.etag;
        if (validators.lastModified) headers["if-modified-since"] = validators.lastModified;
        const res = await fetch(url, { headers, signal: ac.signal });
        if (res.status !== 200 && res.status !== 304) {
          await res.body?.cancel();
          throw new ProviderHttpError(res.status);
        }
        return { response: res, controller: ac };
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }));
  } catch (err) {
    await saveBreaker();
    if (err instanceof BrokenCircuitError) {
      throw new ProviderError(
        "circuit_open",
        "the provider failed repeatedly; the circuit breaker is open",
        Math.ceil(settings.breakerHalfOpenMs / 1000),
      );
    }
    const why =
      err instanceof TaskCancelledError ? `timed out after ${settings.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    if (err instanceof ProviderHttpError && !retryable(err)) {
      throw new ProviderError("bad_response", `${why} after ${attempts} attempt(s)`, 60);
    }
    throw new ProviderError("unavailable", `provider could not be read after ${attempts} attempt(s): ${why}`, 60);
  }
  await saveBreaker();
  if (response.status === 304) return { status: "not_modified", attempts };
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > settings.maxBytes || !response.body) {
    await response.body?.cancel();
    throw new ProviderError(
      "bad_response",
      declared ? `provider document is larger than ${settings.maxBytes} bytes` : "provider sent no body",
      60,
    );
  }
  // A body that stalls mid-way is as bad as no answer: abort it after the body deadline.
  const bodyTimer = setTimeout(
    () => controller.abort(new ProviderError("unavailable", `provider body not complete after ${settings.bodyTimeoutMs} ms`, 60)),
    settings.bodyTimeoutMs,
  );
  return {
    status: "ok",
    attempts,
    validators: { etag: response.headers.get("etag"), lastModified: response.headers.get("last-modified") },
    body: response.body.pipeThrough(limitBytes(settings.maxBytes)),
    done: () => clearTimeout(bodyTimer),
  };
}
