import { DomainError, ErrorCode } from '@app/common';
import { ResearchPlan } from './research-plan';
import { ResearchStatus } from './research-status';

export class ResearchNotCancellableError extends DomainError {
  constructor(id: string, status: ResearchStatus) {
    super(ErrorCode.NotCancellable, `research ${id} is already ${status} and cannot be cancelled`, { status }, false);
  }
}

export class ResearchNotRetryableError extends DomainError {
  constructor(id: string, status: ResearchStatus) {
    super(
      ErrorCode.NotRetryable,
      `research ${id} is ${status}; only a failed research can be retried`,
      { status },
      false,
    );
  }
}

export class ResearchNotRedeliverableError extends DomainError {
  constructor(id: string, status: ResearchStatus, hasCallback: boolean) {
    super(
      ErrorCode.NotRedeliverable,
      hasCallback
        ? `research ${id} is ${status}; only a completed, failed or cancelled research has a result to deliver`
        : `research ${id} has no callback_url to deliver to`,
      { status, callback_url: hasCallback },
      false,
    );
  }
}

export class ResearchNotAwaitingReviewError extends DomainError {
  constructor(id: string, status: ResearchStatus) {
    super(
      ErrorCode.NotAwaitingReview,
      `research ${id} is ${status}; only a research awaiting review takes a plan`,
      { status },
      false,
    );
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor(researchId: string) {
    super(
      ErrorCode.IdempotencyKeyReused,
      'this Idempotency-Key was already used with a different request body',
      { research_id: researchId },
      false,
    );
  }
}

export enum StopReason {
  Cancelled = 'cancelled',
  LeaseLost = 'lease_lost',
  Shutdown = 'shutdown',
}

/** Raised inside a run when it must stop: not a failure of the research. */
export class ResearchStoppedError extends DomainError {
  constructor(readonly reason: StopReason) {
    const codes = {
      [StopReason.Cancelled]: ErrorCode.ResearchCancelled,
      [StopReason.LeaseLost]: ErrorCode.LeaseLost,
      [StopReason.Shutdown]: ErrorCode.ShutdownInProgress,
    };
    super(codes[reason], `research stopped: ${reason.replace('_', ' ')}`);
  }
}

/**
 * Raised by an engine when the research asked for its plan to be reviewed and no reviewed plan is
 * stored yet: the run ends there, and the research waits in `awaiting_review`. Not a failure.
 */
export class PlanReviewRequiredError extends Error {
  constructor(
    /** The plan to review: the planner's, or the question itself when planning failed. */
    readonly plan: ResearchPlan,
    /** True when planning failed and `plan` is the question itself. */
    readonly fallback: boolean,
  ) {
    super('the plan waits for review');
    this.name = 'PlanReviewRequiredError';
  }
}
