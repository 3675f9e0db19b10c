/**
 * The error catalogue: every error a client can see, by code. The one error
 * handler (plugins/error-handler.ts) turns anything thrown into one of these,
 * as application/problem+json (RFC 9457).
 */

export interface ProblemKind {
  readonly status: number;
  readonly title: string;
  /** Stable slug; the problem `type` URI ends with it. */
  readonly slug: string;
}

export const ERRORS = {
  ACT_ERR_MALFORMED_JSON: { status: 400, title: 'Malformed JSON', slug: 'malformed-json' },
  ACT_ERR_VALIDATION: { status: 400, title: 'Invalid request', slug: 'validation' },
  ACT_ERR_UNAUTHORIZED: { status: 401, title: 'Unauthorized', slug: 'unauthorized' },
  ACT_ERR_UNKNOWN_ACTIVATION: { status: 404, title: 'Unknown activation', slug: 'unknown-activation' },
  ACT_ERR_NOT_FOUND: { status: 404, title: 'Not found', slug: 'not-found' },
  ACT_ERR_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout', slug: 'request-timeout' },
  ACT_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large', slug: 'body-too-large' },
  ACT_ERR_TOO_MANY_ELEMENTS: { status: 413, title: 'Too many elements', slug: 'too-many-elements' },
  ACT_ERR_URI_TOO_LONG: { status: 414, title: 'URI too long', slug: 'uri-too-long' },
  ACT_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type', slug: 'unsupported-media-type' },
  ACT_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests', slug: 'rate-limited' },
  ACT_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large', slug: 'headers-too-large' },
  ACT_ERR_INTERNAL: { status: 500, title: 'Internal error', slug: 'internal' },
  ACT_ERR_WORKER_FAILED: { status: 500, title: 'Computation failed', slug: 'worker-failed' },
  ACT_ERR_QUEUE_FULL: { status: 503, title: 'Server busy', slug: 'queue-full' },
  ACT_ERR_OVERLOADED: { status: 503, title: 'Server overloaded', slug: 'overloaded' },
  ACT_ERR_SHUTTING_DOWN: { status: 503, title: 'Shutting down', slug: 'shutting-down' },
  ACT_ERR_TIMEOUT: { status: 504, title: 'Computation timed out', slug: 'timeout' },
} as const satisfies Record<string, ProblemKind>;

export type ErrorCode = keyof typeof ERRORS;

export const PROBLEM_TYPE_BASE = 'https://activation-service.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Field errors a 400 lists, the first ones (the detail gives the count of all): a body of a million bad numbers got a 49 MB answer. */
export const MAX_LISTED_FIELD_ERRORS = 100;

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldError[];
  suggestions?: string[];
}

/** An error meant for the client: its code picks status and title; `detail` is shown as is. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly code: ErrorCode;
  readonly errors?: FieldError[];
  readonly suggestions?: string[];
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail: string,
    extra: { errors?: FieldError[]; suggestions?: string[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.code = code;
    this.errors = extra.errors;
    this.suggestions = extra.suggestions;
    this.headers = extra.headers;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  toProblem(instance?: string): Problem {
    const kind = ERRORS[this.code];
    return {
      type: PROBLEM_TYPE_BASE + kind.slug,
      title: kind.title,
      status: kind.status,
      detail: this.message,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.suggestions ? { suggestions: this.suggestions } : {}),
    };
  }
}

/**
 * A pooled task dropped before it started because its client closed the
 * connection while it waited for a worker. Not in the catalogue: nobody is
 * left to answer; the error handlers log it and send nothing.
 */
export class ClientClosedError extends Error {
  override name = 'ClientClosedError';
}
