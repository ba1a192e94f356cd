/** Lifecycle events the research service itself records. */
export enum ResearchEventType {
  Created = 'research.created',
  Started = 'research.started',
  Completed = 'research.completed',
  Failed = 'research.failed',
  Cancelled = 'research.cancelled',
  RetryScheduled = 'research.retry_scheduled',
  HandedBack = 'research.handed_back',
  Requeued = 'research.requeued',
  Retried = 'research.retried',
  /** The run stopped after planning (`review_plan`): `plan`, and `fallback` when planning failed. */
  PlanAwaitingReview = 'plan.awaiting_review',
  /** The plan was accepted, as it was or `edited`; `plan` is what the research will search. */
  PlanReviewed = 'plan.reviewed',
}

/** Events a research engine records while it runs, through `ResearchRunContext.emit`. */
export enum RunEventType {
  /** A stage began: `stage` (plan, search, read, gaps, write, verify, revise, reverify), and its figures. */
  StageStarted = 'stage.started',
  /** A stage ended: `stage`, its figures and its agent's usage. */
  StageFinished = 'stage.finished',
  /** A stage the model failed for good: `stage`, `reason`, and the `fallback` the research took. */
  StageFailed = 'stage.failed',
  /** A source was read: `source`, `findings`, `dropped`, `flagged`. */
  SourceRead = 'source.read',
  /** A source the model failed on, left out: `source`, `reason`. */
  SourceSkipped = 'source.skipped',
  /** A page that could not be fetched: `provider`, `url`, `reason`. */
  SourceUnreadable = 'source.unreadable',
  /** A search provider failed some queries: `provider`, `queries`, `reasons`. */
  SearchFailed = 'search.failed',
  /** The search-and-read rounds ended: `rounds`, `depth`, `reason`. */
  RoundsStopped = 'rounds.stopped',
}

/** Every event type a research can have, in one list: what its event stream may send. */
export const EVENT_TYPES: readonly string[] = [...Object.values(ResearchEventType), ...Object.values(RunEventType)];
