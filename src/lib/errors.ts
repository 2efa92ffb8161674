import type { RateDecision } from "./rate-decision.ts";

/**
 * What can go wrong, in words every layer shares. Services and the queue and cron code throw these;
 * src/http/problems.ts alone decides what each means over HTTP (status, problem type, headers).
 */
const ERROR_CODES = [
  "bad_request",
  "missing_credentials",
  "invalid_credentials",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  /** An If-Match that does not hold for the resource's current version. */
  "precondition_failed",
  /** The resource existed and was erased on purpose: it will never come back (GDPR erasure). */
  "gone",
  "payload_too_large",
  "unsupported_media_type",
  "validation_failed",
  "rate_limited",
  /** A dependency (database, queue, an open circuit breaker) cannot serve right now: retry later. */
  "unavailable",
  /** The plan provider answered badly or not at all. */
  "provider_failed",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  /** Path of the failing field, e.g. "email" or "query.limit". */
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  fields?: FieldError[];
  retryAfterSeconds?: number;
  /** Further members of the error's public description, e.g. `existing_id`. */
  extra?: Record<string, unknown>;
  /** For rate_limited: the decision behind it. */
  rateLimit?: RateDecision;
  /** For method_not_allowed: what the resource does allow. */
  allowedMethods?: string[];
  cause?: unknown;
}

/** The one error type. Its message is safe to show to the caller; the cause never is. */
export class DomainError extends Error {
  override name = "DomainError";
  readonly code: ErrorCode;
  readonly fields: FieldError[] | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly rateLimit: RateDecision | undefined;
  readonly allowedMethods: string[] | undefined;

  constructor(code: ErrorCode, detail: string, opts: DomainErrorOptions = {}) {
    super(detail, { cause: opts.cause });
    this.code = code;
    this.fields = opts.fields;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.extra = opts.extra;
    this.rateLimit = opts.rateLimit;
    this.allowedMethods = opts.allowedMethods;
  }
}
