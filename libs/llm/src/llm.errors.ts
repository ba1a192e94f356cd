import { DomainError, ErrorCode } from '@app/common';

/** Why an LLM call failed for good (after retries and the repair). */
export enum LlmFailure {
  /** The reply could not be parsed or did not match the schema, even after the repair. */
  InvalidOutput = 'invalid_output',
  /** Still rate limited, failing or timing out after every retry. */
  Unavailable = 'unavailable',
  /** Refused for a reason retrying cannot fix (400, 401, 404...). */
  Rejected = 'rejected',
}

export class LlmError extends DomainError {
  constructor(
    readonly failure: LlmFailure,
    message: string,
    readonly status?: number,
  ) {
    super(ErrorCode.LlmFailed, message, { failure, ...(status ? { status } : {}) }, failure !== LlmFailure.Rejected);
  }
}

/**
 * The endpoint's circuit is open: the call was not made. Not a failure of the research, which
 * waits for the endpoint (`dependency_unavailable`).
 */
export class LlmOutageError extends DomainError {
  constructor(endpoint: string, openedAt: number | null) {
    const since = openedAt ? ` since ${new Date(openedAt).toISOString()}` : '';
    super(
      ErrorCode.DependencyUnavailable,
      `the LLM endpoint ${endpoint} is unavailable${since}; the research waits until it answers again`,
      { dependency: 'llm', endpoint },
    );
  }
}
