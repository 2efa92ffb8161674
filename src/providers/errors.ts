/**
 * unavailable: network error, timeout or 5xx/429 on every attempt. circuit_open: the provider failed
 * repeatedly and is being left alone for a while. bad_response: a response arrived but cannot be
 * used (4xx, too large, not XML, a DTD, cut short).
 */
export const PROVIDER_FAILURES = ["unavailable", "circuit_open", "bad_response"] as const;
export type ProviderFailure = (typeof PROVIDER_FAILURES)[number];

export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    /** When it is worth trying again, in seconds. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A status worth retrying: the provider's 503s and gateway errors are routine. */
export class ProviderHttpError extends Error {
  override name = "ProviderHttpError";
  constructor(readonly status: number) {
    super(`provider answered HTTP ${status}`);
  }
}
