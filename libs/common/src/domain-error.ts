/**
 * Every error a lib raises on purpose carries one of these codes. The api maps codes to HTTP
 * statuses in one place; the worker records them on the research.
 */
export enum ErrorCode {
  ValidationFailed = 'validation_failed',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  RateLimited = 'rate_limited',
  MalformedJson = 'malformed_json',
  /** Not HTTP that the server could read: a bad request line or header. */
  MalformedRequest = 'malformed_request',
  /** The headers or the body did not arrive in time. */
  RequestTimeout = 'request_timeout',
  HeadersTooLarge = 'headers_too_large',
  UriTooLong = 'uri_too_long',
  UnsupportedMediaType = 'unsupported_media_type',
  PayloadTooLarge = 'payload_too_large',
  NotFound = 'not_found',
  RouteNotFound = 'route_not_found',
  MethodNotAllowed = 'method_not_allowed',
  Conflict = 'conflict',
  NotCancellable = 'research_not_cancellable',
  NotRetryable = 'research_not_retryable',
  /** Only an ended research with a callback URL has a result to deliver again. */
  NotRedeliverable = 'research_not_redeliverable',
  /** A plan was sent for a research that is not waiting for its review. */
  NotAwaitingReview = 'research_not_awaiting_review',
  IdempotencyKeyReused = 'idempotency_key_reused',
  NotReady = 'not_ready',
  DependencyUnavailable = 'dependency_unavailable',
  Internal = 'internal_error',
  ResearchCancelled = 'research_cancelled',
  LeaseLost = 'lease_lost',
  ShutdownInProgress = 'shutdown_in_progress',
  RunnerFailed = 'runner_failed',
  LlmFailed = 'llm_failed',
  BudgetExhausted = 'budget_exhausted',
  TextProcessingTimeout = 'text_processing_timeout',
  /** Every search provider a research asked failed. */
  SearchFailed = 'search_failed',
  /** A research's plan waited for review longer than PLAN_REVIEW_TIMEOUT_SECONDS: it was cancelled. */
  PlanReviewTimeout = 'plan_review_timeout',
}

/** One problem with one field of a request: a body field, a query parameter, a header. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What an error carries besides its code and message. One rule for every error: the field
 * problems when the code is `validation_failed`, else named values about the error.
 */
export type ErrorDetails = Readonly<Record<string, unknown>> | readonly FieldProblem[];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    /** False when running the same thing again cannot succeed. */
    readonly retryable = true,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(ErrorCode.NotFound, `${what} ${id} was not found`, { id }, false);
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, problems: readonly FieldProblem[]) {
    super(ErrorCode.ValidationFailed, message, problems, false);
  }
}
