export const problemStatus = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  service_unavailable: 503,
} as const;

export type ProblemCode = keyof typeof problemStatus;

const titles: Record<ProblemCode, string> = {
  bad_request: "Bad request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  conflict: "Conflict",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  validation_failed: "Validation failed",
  rate_limited: "Too many requests",
  internal: "Internal server error",
  bad_gateway: "Bad gateway",
  service_unavailable: "Service unavailable",
};

export interface FieldError {
  /** JSON pointer-ish path of the failing field, e.g. "email" or "query.limit". */
  field: string;
  message: string;
}

/**
 * The one error type of the API. Services throw it (they know nothing of HTTP beyond the code);
 * the single onError handler turns it into application/problem+json.
 */
export class AppError extends Error {
  override name = "AppError";
  readonly code: ProblemCode;
  readonly errors: FieldError[] | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ProblemCode,
    detail: string,
    opts: {
      errors?: FieldError[];
      retryAfterSeconds?: number;
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: opts.cause });
    this.code = code;
    this.errors = opts.errors;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.extra = opts.extra;
    this.headers = opts.headers;
  }

  get status(): (typeof problemStatus)[ProblemCode] {
    return problemStatus[this.code];
  }

  get title(): string {
    return titles[this.code];
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemBody(err: AppError, instance: string, requestId: string): ProblemBody {
  return {
    ...err.extra,
    type: `/problems/${err.code}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    instance,
    request_id: requestId,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}
