export type ProviderFailure =
  /** Network error, timeout or 5xx/429 on every attempt. */
  | "unavailable"
  /** The circuit breaker is open: the provider failed repeatedly and is being left alone for a while. */
  | "circuit_open"
  /** A response arrived but cannot be used: 4xx, too large, not XML, a DTD, cut short. */
  | "bad_response";

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
